module cdebug-bench-trace

go 1.19
