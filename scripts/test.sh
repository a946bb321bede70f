#!/usr/bin/env bash
# The full test run: installs what the tests need when it is missing (the
# package-manager clients, MinIO, crane), starts MinIO on a free loopback
# port for the run, and runs every test with the race detector. With
# SMARTREGISTRY_REQUIRE_TOOLS=1 no test may skip for a missing tool.
#
#   scripts/test.sh [go test flags / packages]   (default: ./...)
set -euo pipefail
cd "$(dirname "$0")/.."

cache_dir="${XDG_CACHE_HOME:-$HOME/.cache}/smartregistry"
bin_dir="$cache_dir/bin"
mkdir -p "$bin_dir"
export PATH="$bin_dir:$PATH"

MINIO_VERSION=v0.0.0-20260212201848-7aac2a2c5b7c
CRANE_VERSION=v0.22.1

log() { printf '== %s\n' "$*" >&2; }

apt_updated=0
apt_install() {
	if [ "$apt_updated" = 0 ]; then
		log "apt-get update"
		DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
		apt_updated=1
	fi
	log "apt-get install $*"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

ensure_clients() {
	local missing=()
	command -v skopeo >/dev/null || missing+=(skopeo)
	command -v twine >/dev/null || missing+=(twine)
	/usr/bin/python3 -c 'import build' 2>/dev/null || missing+=(python3-build)
	python3 -c 'import venv, ensurepip' 2>/dev/null || missing+=(python3-venv)
	# The PyPI end-to-end test also runs the distribution's own pip
	# (/usr/bin/python3 -m venv: pip 23.0.1 on Debian 12).
	/usr/bin/python3 -c 'import venv, ensurepip' 2>/dev/null || missing+=(python3-venv)
	# Composer (composer can only read; uploads go through curl in the test).
	command -v composer >/dev/null || missing+=(composer)
	command -v php >/dev/null || missing+=(php-cli)
	php -m 2>/dev/null | grep -qx zip || missing+=(php-zip)
	command -v unzip >/dev/null || missing+=(unzip)
	# RubyGems: gem and bundler.
	command -v gem >/dev/null || missing+=(ruby)
	command -v bundle >/dev/null || missing+=(bundler)
	# Maven with Debian's packaged plugins (there is no Maven Central here).
	command -v mvn >/dev/null || missing+=(maven)
	command -v javac >/dev/null || missing+=(default-jdk-headless)
	local plugin
	for plugin in resources compiler jar install deploy; do
		[ -d "/usr/share/maven-repo/org/apache/maven/plugins/maven-$plugin-plugin" ] ||
			missing+=("libmaven-$plugin-plugin-java")
	done
	[ -d /usr/share/maven-repo/org/apache/maven/plugins/maven-surefire-plugin ] || missing+=(libsurefire-java)
	if [ "${#missing[@]}" -gt 0 ]; then
		apt_install "${missing[@]}"
	fi
	command -v npm >/dev/null || apt_install nodejs npm
	# cargo comes with rustup under ~/.cargo/bin; Debian's cargo is older
	# but is the fallback when rustup's is missing.
	if ! command -v cargo >/dev/null && [ ! -x "$HOME/.cargo/bin/cargo" ]; then
		apt_install cargo
	fi
}

ensure_go_tool() { # name module@version
	local name=$1 mod=$2
	if [ ! -x "$bin_dir/$name" ]; then
		log "building $name ($mod), cached in $bin_dir"
		GOBIN="$bin_dir" GOFLAGS=-mod=mod go install "$mod"
	fi
}

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

minio_pid=
minio_data=
stop_minio() {
	if [ -n "$minio_pid" ]; then
		kill "$minio_pid" 2>/dev/null || true
		wait "$minio_pid" 2>/dev/null || true
	fi
	if [ -n "$minio_data" ]; then
		rm -rf "$minio_data" "$minio_data.log"
	fi
}
trap stop_minio EXIT

start_minio() {
	local port console data
	port=$(free_port)
	console=$(free_port)
	data=$(mktemp -d)
	minio_data=$data
	export MINIO_ROOT_USER=smartregistry MINIO_ROOT_PASSWORD="test-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
	MINIO_BROWSER=off MINIO_UPDATE=off "$bin_dir/minio" server "$data" \
		--address "127.0.0.1:$port" --console-address "127.0.0.1:$console" --quiet >"$data.log" 2>&1 &
	minio_pid=$!
	for _ in $(seq 1 100); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			export SMARTREGISTRY_TEST_S3_ENDPOINT="127.0.0.1:$port"
			export SMARTREGISTRY_TEST_S3_ACCESS_KEY="$MINIO_ROOT_USER"
			export SMARTREGISTRY_TEST_S3_SECRET_KEY="$MINIO_ROOT_PASSWORD"
			log "MinIO on 127.0.0.1:$port"
			return 0
		fi
		sleep 0.2
	done
	cat "$data.log" >&2
	log "MinIO did not start"
	return 1
}

ensure_clients
ensure_go_tool minio "github.com/minio/minio@$MINIO_VERSION"
ensure_go_tool crane "github.com/google/go-containerregistry/cmd/crane@$CRANE_VERSION"
start_minio

export SMARTREGISTRY_REQUIRE_TOOLS=1
if [ "$#" -eq 0 ]; then
	set -- ./...
fi
log "go test -race $*"
go test -race -count=1 -timeout 75m "$@"
