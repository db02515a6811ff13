// Command trace is the Go peer of bench/bench_trace.c: the cost of one
// runtime/trace annotation, tracing on and off. T goroutines (GOMAXPROCS
// set by the caller) each run a tight loop of N operations, an operation
// being a region (trace.StartRegion(ctx, "bench").End(), two trace points)
// or a log message (trace.Log(ctx, "bench", "op"), one).
//
// With -trace=FILE the loops run between trace.Start and trace.Stop; without
// it tracing is off and each trace point is runtime/trace's enabled check.
// A warm-up of N/10 operations named "warmup" runs first on every goroutine,
// as on the C side.
//
// The time is the wall time from the start of the loops to the end of the
// last one, times T, over the events (on) or trace points (off), the C
// side's formula. Events are not counted from the file here: Go's tracer
// never drops events (it allocates another buffer instead), so the timed
// loop's events are exactly the trace points it passed. bench/run_trace
// compares the figures with bench_trace's for the same op, T and N.
//
// Output, one line on stdout:
//
//	trace op=region threads=1 tracing=on ops=2000000 events=4000000 file_bytes=... ns_per_event=...
//	trace op=region threads=1 tracing=off ops=50000000 points=100000000 ns_per_point=...
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime/trace"
	"sync"
	"time"
)

func loop(ctx context.Context, op, name string, n int) {
	if op == "region" {
		for i := 0; i < n; i++ {
			trace.StartRegion(ctx, name).End()
		}
	} else {
		for i := 0; i < n; i++ {
			trace.Log(ctx, name, "op")
		}
	}
}

func main() {
	op := flag.String("op", "region", "region (StartRegion+End) or log (trace.Log)")
	threads := flag.Int("threads", 1, "goroutines running the loop (1..64)")
	ops := flag.Int("ops", 0, "operations per goroutine (default 2000000 on, 50000000 off)")
	traceFile := flag.String("trace", "", "trace into this file; tracing is off without it")
	flag.Parse()
	if flag.NArg() != 0 || (*op != "region" && *op != "log") || *threads < 1 || *threads > 64 || *ops < 0 {
		fmt.Fprintln(os.Stderr, "usage: trace [-op=region|log] [-threads=T] [-ops=N] [-trace=FILE]")
		os.Exit(2)
	}
	n := *ops
	if n == 0 {
		n = 50000000
		if *traceFile != "" {
			n = 2000000
		}
	}
	perOp := 1
	if *op == "region" {
		perOp = 2
	}
	points := int64(n) * int64(*threads) * int64(perOp)

	var f *os.File
	if *traceFile != "" {
		var err error
		if f, err = os.Create(*traceFile); err != nil {
			fmt.Fprintln(os.Stderr, "trace:", err)
			os.Exit(1)
		}
		if err := trace.Start(f); err != nil {
			fmt.Fprintln(os.Stderr, "trace: trace.Start:", err)
			os.Exit(1)
		}
	}

	ctx := context.Background()
	var ready, done sync.WaitGroup
	start := make(chan struct{})
	var mu sync.Mutex
	var first, last time.Time
	for t := 0; t < *threads; t++ {
		ready.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			loop(ctx, *op, "warmup", n/10+1)
			ready.Done()
			<-start
			t0 := time.Now()
			loop(ctx, *op, "bench", n)
			t1 := time.Now()
			mu.Lock()
			if first.IsZero() || t0.Before(first) {
				first = t0
			}
			if t1.After(last) {
				last = t1
			}
			mu.Unlock()
		}()
	}
	ready.Wait()
	close(start)
	done.Wait()
	wall := float64(last.Sub(first).Nanoseconds()) * float64(*threads)

	if f == nil {
		fmt.Printf("trace op=%s threads=%d tracing=off ops=%d points=%d ns_per_point=%.3f\n",
			*op, *threads, n, points, wall/float64(points))
		return
	}
	trace.Stop()
	if err := f.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "trace:", err)
		os.Exit(1)
	}
	st, err := os.Stat(*traceFile)
	if err != nil {
		fmt.Fprintln(os.Stderr, "trace:", err)
		os.Exit(1)
	}
	fmt.Printf("trace op=%s threads=%d tracing=on ops=%d events=%d file_bytes=%d ns_per_event=%.3f\n",
		*op, *threads, n, points, st.Size(), wall/float64(points))
}
