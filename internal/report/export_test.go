package report

// ClvEdgesForTest exposes clvEdges to the external tests.
var ClvEdgesForTest = clvEdges
