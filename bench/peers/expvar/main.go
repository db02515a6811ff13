// The Go side of the /debug/vars benchmark: the same vars as
// bench/bench_vars_server.c (100 Ints and one Map of 100 keys, all changing),
// served by expvar on 127.0.0.1:0. Prints "listening on ADDR". Runs until
// killed.
package main

import (
	"expvar"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"
)

const vars = 100

func main() {
	ints := make([]*expvar.Int, vars)
	for i := range ints {
		ints[i] = expvar.NewInt(fmt.Sprintf("counter_%02d", i))
	}
	m := expvar.NewMap("requests_by_path")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("listening on %s\n", ln.Addr())
	go func() {
		for n := 0; ; n++ {
			for i, v := range ints {
				v.Add(int64(i + 1))
			}
			m.Add(fmt.Sprintf("/path/%02d", n%vars), 1)
			time.Sleep(time.Millisecond)
		}
	}()
	http.Serve(ln, nil)
}
