package measure

import (
	"runtime"
	"syscall"
	"time"
)

// Usage is what a process has used since it started: CPU time (user plus
// system, from getrusage(RUSAGE_SELF)) and heap allocations (from
// runtime.MemStats).
type Usage struct {
	CPU        time.Duration `json:"cpu_ns"`
	Allocs     uint64        `json:"allocs"`
	AllocBytes uint64        `json:"alloc_bytes"`
	GOMAXPROCS int           `json:"gomaxprocs"`
	Goroutines int           `json:"goroutines"`
}

// ReadUsage returns the calling process's usage so far. It stops the world
// briefly, to read the allocation counters.
func ReadUsage() (Usage, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return Usage{}, err
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return Usage{
		CPU:        time.Duration(ru.Utime.Nano() + ru.Stime.Nano()),
		Allocs:     ms.Mallocs,
		AllocBytes: ms.TotalAlloc,
		GOMAXPROCS: runtime.GOMAXPROCS(0),
		Goroutines: runtime.NumGoroutine(),
	}, nil
}

// Sub returns what was used between earlier and u.
func (u Usage) Sub(earlier Usage) Usage {
	return Usage{
		CPU:        u.CPU - earlier.CPU,
		Allocs:     u.Allocs - earlier.Allocs,
		AllocBytes: u.AllocBytes - earlier.AllocBytes,
		GOMAXPROCS: u.GOMAXPROCS,
		Goroutines: u.Goroutines,
	}
}
