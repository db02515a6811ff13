// Go peer of bench/bench_heapprof.c: ns per heap allocation of -size bytes
// (make([]byte, size) escaping to a global), with runtime.MemProfileRate
// set to -rate at the start of main (-1 keeps Go's default, 512 KiB).
// Prints the number of heap-profile records at the end: calling
// runtime.MemProfile also keeps the linker from switching profiling off
// (it does when nothing can read the profile).
package main

import (
	"flag"
	"fmt"
	"runtime"
	"syscall"
	"time"
)

var sink []byte

// cpuTime: the process's user + system CPU time (every thread).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

//go:noinline
func loop(size, n int) (wall, cpu time.Duration) {
	t0, c0 := time.Now(), cpuTime()
	for i := 0; i < n; i++ {
		p := make([]byte, size)
		p[0] = byte(i)
		sink = p
	}
	return time.Since(t0), cpuTime() - c0
}

func main() {
	rate := flag.Int("rate", -1, "runtime.MemProfileRate (-1: Go's default)")
	size := flag.Int("size", 64, "bytes per allocation")
	iters := flag.Int("iters", 20000000, "allocations")
	flag.Parse()
	if *rate >= 0 {
		runtime.MemProfileRate = *rate
	}
	loop(*size, *iters/10)
	sink = nil
	runtime.GC()
	el, cpu := loop(*size, *iters)
	records, _ := runtime.MemProfile(nil, true)
	fmt.Printf("heapprof size=%d iters=%d ns_per_op=%.2f cpu_ns_per_op=%.2f records=%d rate=%d\n",
		*size, *iters, float64(el.Nanoseconds())/float64(*iters),
		float64(cpu.Nanoseconds())/float64(*iters), records, runtime.MemProfileRate)
}
