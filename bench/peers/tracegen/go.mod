module cdebug-bench-tracegen

go 1.19
