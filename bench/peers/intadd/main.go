// Go peer of bench/bench_int_add.c: ns per expvar.Int.Add with T goroutines
// adding to one Int, GOMAXPROCS set by the caller.
package main

import (
	"expvar"
	"flag"
	"fmt"
	"os"
	"sync"
	"time"
)

func main() {
	threads := flag.Int("threads", 1, "goroutines")
	ops := flag.Int("ops", 50000000, "adds per goroutine")
	flag.Parse()
	v := expvar.NewInt("bench_int_add")
	var wg sync.WaitGroup
	start := make(chan struct{})
	for t := 0; t < *threads; t++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for i := 0; i < *ops; i++ {
				v.Add(1)
			}
		}()
	}
	t0 := time.Now()
	close(start)
	wg.Wait()
	el := time.Since(t0)
	if v.Value() != int64(*threads)*int64(*ops) {
		fmt.Fprintln(os.Stderr, "lost updates")
		os.Exit(1)
	}
	fmt.Printf("int_add threads=%d ops=%d ns_per_op=%.2f\n", *threads, *ops,
		float64(el.Nanoseconds())/float64(*ops))
}
