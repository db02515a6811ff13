// Command spawn is the Go peer of bench/bench_spawn.c: it measures the cost
// of starting and finishing N tiny goroutines, each incrementing a counter,
// joined with a sync.WaitGroup. bench/run compares its ns_per_task with
// cdebug's for the same N and the same number of workers (GOMAXPROCS here,
// CDMAXPROCS there).
//
// The shape matches the C side on purpose: the spawning loop runs in a
// goroutine (main) on a P, calls wg.Add(1) once per task, and the timer
// covers the loop plus wg.Wait. A warm-up run of N/10 goroutines first grows
// the runtime's free lists (Go keeps dead goroutines' stacks for reuse;
// cdebug keeps its task records), so neither side pays first-use costs in
// the timed run.
//
// -trace=FILE records an execution trace with runtime/trace (trace.Start
// before the warm-up, trace.Stop after the timed run, both outside the
// timer), the peer of bench_spawn --trace: bench/run_trace compares the
// figure with and without tracing on both sides.
//
// Output, one line on stdout (" trace=on" appended when tracing):
//
//	spawn workers=2 tasks=1000000 ns_per_task=123.4
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/trace"
	"sync"
	"sync/atomic"
	"time"
)

func run(n int) time.Duration {
	var wg sync.WaitGroup
	var counter int64

	start := time.Now()
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			atomic.AddInt64(&counter, 1)
			wg.Done()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)

	if got := atomic.LoadInt64(&counter); got != int64(n) {
		fmt.Fprintf(os.Stderr, "spawn: counter is %d, want %d\n", got, n)
		os.Exit(1)
	}
	return elapsed
}

func main() {
	tasks := flag.Int("tasks", 1000000, "number of goroutines to spawn (1..100000000)")
	traceFile := flag.String("trace", "", "trace the warm-up and the timed run into this file")
	flag.Parse()
	if flag.NArg() != 0 || *tasks < 1 || *tasks > 100000000 {
		fmt.Fprintln(os.Stderr, "usage: spawn [--tasks=N] [--trace=FILE]   (1 <= N <= 100000000; workers from GOMAXPROCS)")
		os.Exit(2)
	}

	var f *os.File
	if *traceFile != "" {
		var err error
		if f, err = os.Create(*traceFile); err != nil {
			fmt.Fprintln(os.Stderr, "spawn:", err)
			os.Exit(1)
		}
		if err := trace.Start(f); err != nil {
			fmt.Fprintln(os.Stderr, "spawn: trace.Start:", err)
			os.Exit(1)
		}
	}
	run(*tasks/10 + 1)
	d := run(*tasks)
	suffix := ""
	if f != nil {
		// Every event reaches the file before the line is printed.
		trace.Stop()
		if err := f.Close(); err != nil {
			fmt.Fprintln(os.Stderr, "spawn:", err)
			os.Exit(1)
		}
		suffix = " trace=on"
	}
	fmt.Printf("spawn workers=%d tasks=%d ns_per_task=%.1f%s\n",
		runtime.GOMAXPROCS(0), *tasks, float64(d.Nanoseconds())/float64(*tasks), suffix)
}
