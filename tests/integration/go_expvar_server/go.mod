module cdebug.test/go_expvar_server

go 1.19
