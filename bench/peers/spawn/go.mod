module cdebug-bench-spawn

go 1.19
