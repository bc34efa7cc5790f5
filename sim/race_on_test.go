//go:build race

package sim

// raceOn: the race detector slows the simulator tenfold; its run checks
// the code under concurrency, and the statistics run without it.
const raceOn = true
