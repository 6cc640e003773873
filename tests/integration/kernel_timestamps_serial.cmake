# Included by CTest after the discovered tests are defined (TEST_INCLUDE_FILES): the kernel
# timestamps test busies every core on purpose and compares microsecond RTTs, so it runs alone.
set_tests_properties(KernelTimestampsTest.LoopbackFiguresStayWithinTwiceTheQuietOnesWithBothCoresBusy
                     PROPERTIES RUN_SERIAL TRUE)
