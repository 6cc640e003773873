# Included by CTest after the discovered tests are defined (TEST_INCLUDE_FILES): the measurement
# truth test compares RTTs to 2 ms, so it runs alone — not next to other tests competing for the
# machine's cores. (CTest ignores the name while the executable is not built yet.)
set_tests_properties(MeasurementTruth.StunProbeThroughRelayMatchesAppliedImpairment
                     MeasurementTruth.RelayLoopThroughImpairmentMatchesAppliedImpairment
                     PROPERTIES RUN_SERIAL TRUE)
