# make test  - the full test run (installs clients and MinIO when missing)
# make run   - the example server on ./data
# make bench - benchmarks
# make fuzz  - every fuzz target for FUZZTIME each (default 20s)
.PHONY: test run bench vet fuzz

test:
	bash scripts/test.sh

run:
	go run ./examples/server

fuzz:
	bash scripts/fuzz.sh

bench:
	go test -run '^$$' -bench . -benchmem ./...

vet:
	gofmt -l . && go vet ./...
