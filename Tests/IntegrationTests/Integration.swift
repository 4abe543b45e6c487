import Testing

/// Every integration suite, run one test at a time: they wait on real processes with
/// blocking calls, and two of those at once would hold every thread of the cooperative pool
/// on a 2-core machine, starving the other suites' async work (TLS handshakes time out).
@Suite(.serialized) enum Integration {}
