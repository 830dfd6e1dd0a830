// Package ingest holds the ingest benchmark: a large report uploaded over loopback to a real
// `candor serve --dev-listen` (the built binary, run as a child process) against the stock age
// CLI encrypting the same amount of data to /dev/null and to a file it then fsyncs, with the
// server's anonymous memory sampled from /proc. It has no code of its own besides the benchmark
// and depends only on the candor binary's command line, not on the server's package layout.
//
//	go test -run '^$' -bench Ingest -benchtime 1x ./bench/ingest
package ingest
