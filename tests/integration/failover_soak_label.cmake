# Included by CTest after the discovered tests are defined (TEST_INCLUDE_FILES): the two-minute
# impairment soak gets the label `soak` next to `integration`, so a quick run can leave it out
# with `ctest -LE soak` while scripts/test (no label filter) still runs it. (CTest ignores the
# name while the executable is not built yet.)
set_tests_properties(FailoverTest.ImpairedButUsablePathNeverSwitches
                     PROPERTIES LABELS "integration;soak")
