// Command tracegen writes a Go execution trace of a scheduler workload, the
// Go side of bench/run_viewer: the C side's trace is written by
// tests/integration/prog_trace_gen (sched mode), this one by the Go runtime
// itself (runtime/trace), and each side's own tooling reads its own trace
// (cdebug-trace stats/export; go tool trace -pprof=sched and the trace
// viewer's JSON). The workload has the same shape: tasks (goroutines) are
// created by a spawner and by each other, run short computations inside
// regions, block (channel receives from a server goroutine, short sleeps),
// log now and then, belong to user tasks, and allocate enough to make the
// collector run.
//
// The trace's event count is not known here (the runtime adds its own
// events); bench/run_viewer counts them with `go tool trace -d` and picks
// -tasks from a small calibration run to reach the size it wants.
//
// Output, one line on stdout:
//
//	tracegen tasks=100000 file_bytes=...
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

var sink [][]byte

func main() {
	tasks := flag.Int("tasks", 100000, "goroutines to run (the trace grows with it)")
	out := flag.String("o", "", "trace file to write (required)")
	flag.Parse()
	if *out == "" || *tasks < 1 || flag.NArg() != 0 {
		fmt.Fprintln(os.Stderr, "usage: tracegen -o FILE [-tasks=N]")
		os.Exit(2)
	}
	f, err := os.Create(*out)
	if err != nil {
		fmt.Fprintln(os.Stderr, "tracegen:", err)
		os.Exit(1)
	}
	if err := trace.Start(f); err != nil {
		fmt.Fprintln(os.Stderr, "tracegen: trace.Start:", err)
		os.Exit(1)
	}

	// A server goroutine answers requests: each answer is one block
	// (GoBlockRecv) and one unblock (GoUnblock) on the asking goroutine.
	reqs := make(chan chan int, 64)
	go func() {
		for r := range reqs {
			r <- 1
		}
	}()

	names := []string{"load", "decode", "scan", "write"}
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64) // live goroutines bounded, as on the C side
	var mu sync.Mutex
	ctx := context.Background()
	var uctx context.Context
	var utask *trace.Task
	for i := 0; i < *tasks; i++ {
		if i%100 == 0 {
			if utask != nil {
				utask.End()
			}
			uctx, utask = trace.NewTask(ctx, "request")
			trace.Log(uctx, "app", "request done")
		}
		sem <- struct{}{}
		wg.Add(1)
		go func(i int, c context.Context) {
			defer func() { <-sem; wg.Done() }()
			reply := make(chan int)
			for step := 0; step < 1+i%3; step++ {
				trace.WithRegion(c, names[(i+step)%4], func() {
					x := 0
					for k := 0; k < 200; k++ {
						x += k * i
					}
					if x == -1 {
						fmt.Println(x)
					}
				})
				reqs <- reply
				<-reply
			}
			if i%50 == 0 {
				time.Sleep(20 * time.Microsecond)
				trace.Log(c, "app", "cache miss")
			}
			b := make([]byte, 4096)
			if i%16 == 0 {
				mu.Lock()
				sink = append(sink, b)
				if len(sink) > 2048 {
					sink = sink[:0]
				}
				mu.Unlock()
			}
		}(i, uctx)
	}
	wg.Wait()
	utask.End()
	close(reqs)
	trace.Stop()
	if err := f.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "tracegen:", err)
		os.Exit(1)
	}
	st, err := os.Stat(*out)
	if err != nil {
		fmt.Fprintln(os.Stderr, "tracegen:", err)
		os.Exit(1)
	}
	fmt.Printf("tracegen tasks=%d file_bytes=%d\n", *tasks, st.Size())
}
