// go_expvar_server is the real Go peer that cdebug-top's integration tests
// watch: a program that publishes Go's standard expvar document at
// /debug/vars, with a few user vars that change while it runs, exactly as
// the seeds' expvar walkthrough does. It uses only the standard library.
//
//	go_expvar_server -port 0 -addrfile /tmp/addr -timeout 30s
//
// -port 0 asks the kernel for a free port; the address actually bound is
// printed on stdout and, with -addrfile, written to that file (so tests
// never race for a port). The program exits by itself after -timeout, or when
// /stop is requested, so a failed test cannot leave it running.
//
// Besides /debug/vars it serves the faults cdebug-top must report: /notjson
// (an HTML page), /array (JSON that is not an object) and /slow (never
// answers within 30 s).
package main

import (
	"expvar"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"runtime"
	"time"
)

var (
	port     = flag.Int("port", 0, "TCP port on 127.0.0.1 (0: any free port)")
	addrFile = flag.String("addrfile", "", "write the bound host:port to this file")
	timeout  = flag.Duration("timeout", 60*time.Second, "exit after this long")
	churn    = flag.Int("churn", 0, "allocate this many KiB of garbage every 10ms (moves memstats)")
	tick     = flag.Duration("tick", 50*time.Millisecond, "how often the counters change")
)

// sink keeps the churned garbage reachable until the next round, so the
// compiler cannot drop the allocations.
var sink []byte

func main() {
	flag.Parse()

	requests := expvar.NewInt("requests")     // grows by one every tick
	goroutines := expvar.NewInt("Goroutines") // the seed's example var
	ratio := expvar.NewFloat("ratio")         // a Float between 0 and 1
	latency := expvar.NewInt("latency_ns")    // a duration in nanoseconds
	expvar.NewString("version").Set("go-peer 1.0")
	nested := expvar.NewMap("nested")
	nested.Add("hits", 0)
	nested.Add("dotted.key", 42) // needs the \. escape in -vars
	inner := new(expvar.Map).Init()
	inner.Add("depth", 7)
	nested.Set("inner", inner)
	expvar.Publish("uptime_s", expvar.Func(func() any { return int64(time.Since(start).Seconds()) }))

	go func() {
		var n int64
		for range time.Tick(*tick) {
			n++
			requests.Add(1)
			nested.Add("hits", 2)
			goroutines.Set(int64(runtime.NumGoroutine()))
			ratio.Set(float64(n%10) / 10)
			latency.Set(1500000 + (n%5)*250000) // 1.5ms .. 2.5ms
		}
	}()
	if *churn > 0 {
		go func() {
			for range time.Tick(10 * time.Millisecond) {
				sink = make([]byte, *churn*1024)
			}
		}()
	}

	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", *port))
	if err != nil {
		log.Fatal(err)
	}
	addr := ln.Addr().String()
	if *addrFile != "" {
		// Written then renamed, so a reader never sees a half-written file.
		tmp := *addrFile + ".tmp"
		if err := os.WriteFile(tmp, []byte(addr+"\n"), 0o644); err != nil {
			log.Fatal(err)
		}
		if err := os.Rename(tmp, *addrFile); err != nil {
			log.Fatal(err)
		}
	}
	fmt.Println(addr)

	// Faulty endpoints for cdebug-top's error paths.
	http.HandleFunc("/notjson", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "<html><body>not an expvar page</body></html>")
	})
	http.HandleFunc("/array", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintln(w, "[1, 2, 3]")
	})
	http.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(30 * time.Second):
		case <-r.Context().Done(): // the client gave up
		}
	})
	http.HandleFunc("/stop", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "stopping")
		go func() { time.Sleep(50 * time.Millisecond); os.Exit(0) }()
	})
	time.AfterFunc(*timeout, func() { os.Exit(0) })
	log.Fatal(http.Serve(ln, nil)) // expvar registered /debug/vars on the default mux
}

var start = time.Now()
