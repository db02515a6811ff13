module cdebug-bench-expvar

go 1.19
