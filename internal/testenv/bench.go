package testenv

import (
	"testing"
	"time"
)

// shortDivisor is how much smaller a benchmark's input is under -short.
const shortDivisor = 32

// BenchSize returns n, or under -short n/32 but at least floor. CI runs every benchmark once with
// -short (`go test -short -run '^$' -bench . -benchtime 1x ./...`) so that none can rot unnoticed:
// each still runs end to end and checks its results, on a small input. The figures worth reporting
// come from runs without -short (make bench).
func BenchSize(n, floor int64) int64 {
	if !testing.Short() {
		return n
	}
	return max(n/shortDivisor, floor)
}

// BenchCount is BenchSize for counts (cases, clients, entries).
func BenchCount(n, floor int) int { return int(BenchSize(int64(n), int64(floor))) }

// BenchDuration is BenchSize for durations.
func BenchDuration(d, floor time.Duration) time.Duration {
	return time.Duration(BenchSize(int64(d), int64(floor)))
}
