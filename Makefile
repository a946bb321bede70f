# make test  - the full test run (installs clients and MinIO when missing)
# make run   - the example server on ./data
# make bench - benchmarks
.PHONY: test run bench vet

test:
	bash scripts/test.sh

run:
	go run ./examples/server

bench:
	go test -run '^$$' -bench . -benchmem ./...

vet:
	gofmt -l . && go vet ./...
