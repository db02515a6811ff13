module cdebug-bench-heapprof

go 1.19
