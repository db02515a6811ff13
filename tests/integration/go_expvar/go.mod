module cdebug.test/goexpvar

go 1.19
