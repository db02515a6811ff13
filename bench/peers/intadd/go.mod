module cdebug-bench-intadd

go 1.19
