# trailguard: a thin Makefile over meson.
#
#   make demo   install missing Debian packages, build, run the pipeline on
#               the bundled sample logs and print the alerts
#   make test   the same setup, then every test suite, plus the whole suite
#               again under ASan+UBSan
#   make bench  the benchmark (see bench/README.md)

BUILD      ?= build
BUILD_ASAN ?= build-asan
MESON      ?= meson
NINJA      ?= ninja

# Debian 12 packages the build and the tests need.
DEB_PACKAGES = gcc g++ pkg-config meson ninja-build \
	libzmq3-dev libuv1-dev libmsgpack-dev libyaml-dev libcurl4-openssl-dev \
	libdeflate-dev libdeflate-tools zlib1g-dev libssl-dev libsimdjson-dev \
	libhttp-parser-dev libsystemd-dev libjansson-dev libexpat1-dev \
	python3 python3-yaml jq openssl curl clang valgrind iproute2 systemd docker-compose prometheus

.PHONY: all deps build build-asan demo test test-fast bench peers install clean

all: build

deps:
	@tools/install-deps.sh $(DEB_PACKAGES)

$(BUILD)/build.ninja:
	$(MESON) setup $(BUILD)

$(BUILD_ASAN)/build.ninja:
	$(MESON) setup $(BUILD_ASAN) -Db_sanitize=address,undefined -Db_lundef=false \
		-Dbuildtype=debug

build: deps $(BUILD)/build.ninja
	$(NINJA) -C $(BUILD)

build-asan: deps $(BUILD_ASAN)/build.ninja
	$(NINJA) -C $(BUILD_ASAN)

peers:
	@tools/install-peers.sh

demo: build
	@tools/demo.sh $(BUILD)

test: build build-asan peers
	@tools/run-tests.sh $(BUILD) $(BUILD_ASAN)

bench: build
	@bench/run.sh $(BUILD)

install: build
	$(MESON) install -C $(BUILD)

clean:
	rm -rf $(BUILD) $(BUILD_ASAN)
