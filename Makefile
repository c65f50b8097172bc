# Entry points; see README.md. Everything runs as root on Debian 12.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
COLL_LINK := build/collections/ansible_collections/swarmnet/overlay
export PATH := $(CURDIR)/$(BIN):$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg

.PHONY: setup lab lab-create lab-destroy test test-all test-vm vm-packages unit integration static lint sanity molecule build doc-test bench clean

setup: $(VENV)/.done $(COLL_LINK)

$(VENV)/.done: requirements.txt bindep.txt
	@if command -v apt-get >/dev/null; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    $$(grep -v '^#' bindep.txt) >/dev/null; fi
	/usr/bin/python3 -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements.txt
	touch $@

$(COLL_LINK):
	mkdir -p $(dir $@)
	ln -sfn ../../../.. $@

# The demo: three lab hosts, site.yml on them, proof that the overlays carry traffic.
lab: setup lab-create
	$(BIN)/ansible-playbook -i inventories/lab site.yml
	$(BIN)/ansible-playbook -i inventories/lab playbooks/proof.yml

lab-create: setup
	$(BIN)/ansible-playbook playbooks/lab.yml -e lab_state=present

lab-destroy: setup
	$(BIN)/ansible-playbook playbooks/lab.yml -e lab_state=absent

# The lab's tests: unit, kernel, lint, sanity, packaging + ansible-doc, molecule default scenario.
test: setup unit integration static molecule

# Every test, as CI runs them: the lab's, then the VMs'. On a fresh machine the VM image (debootstrap,
# about two minutes) builds meanwhile, in a chroot of its own and at the lowest priority, so that the
# lab's timed checks keep the CPU: test-vm then finds it cached.
test-all: setup vm-packages
	@mkdir -p build
	@nice -n 19 ionice -c 2 -n 7 molecule/vm/image/build.sh > build/vm-image.log 2>&1 & image=$$!; \
	$(MAKE) test; rc=$$?; \
	wait $$image || { echo "the VM image did not build (build/vm-image.log):"; cat build/vm-image.log; exit 1; }; \
	[ $$rc -eq 0 ] && $(MAKE) test-vm

# pytest exits 5 when it collects no tests: that is a failure here too.
unit: setup
	$(BIN)/pytest -q tests/unit; rc=$$?; [ $$rc -ne 5 ] || echo "pytest collected no tests"; exit $$rc

# module_utils against the real kernel, in throwaway network + mount namespaces.
integration: setup
	./tests/integration/run.sh

# ansible-lint's production profile on the whole repository (.ansible-lint says what it skips and why).
lint: setup
	$(BIN)/ansible-lint

sanity: setup
	./tests/sanity/run.sh

# lint, sanity and doc-test side by side (none is timed, each mostly one process: a minute less on
# 2 cores); each one's output is kept in build/ and printed whole, in this order, once all are done.
STATIC = lint sanity doc-test
static: setup
	@mkdir -p build; for t in $(STATIC); do \
	  { $(MAKE) --no-print-directory $$t > build/$$t.log 2>&1; echo $$? > build/$$t.rc; } & done; wait; \
	rc=0; for t in $(STATIC); do echo "=== make $$t (exit $$(cat build/$$t.rc))"; cat build/$$t.log; \
	  [ "$$(cat build/$$t.rc)" = 0 ] || rc=1; done; exit $$rc

doc-test: setup
	./tests/doc-test.sh

# A scenario's output is kept in build/molecule-SCENARIO.log; when it fails, the tasks that failed and
# their messages are printed again last (tests/failed_tasks.py), where a CI log's tail shows them.
molecule_test = mkdir -p build; set -o pipefail; PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/molecule test -s $(1) 2>&1 \
	| tee build/molecule-$(1).log || { rc=$$?; $(PY) tests/failed_tasks.py build/molecule-$(1).log; exit $$rc; }

molecule: setup
	$(call molecule_test,default)

# Three Debian 12 VMs under QEMU (image built once per recipe, cached in /var/cache/swarmnet-vm);
# .ci/run runs it after `make test`.
VM_PACKAGES = qemu-system-x86 qemu-utils debootstrap e2fsprogs openssh-client
test-vm: setup vm-packages
	$(call molecule_test,vm)

vm-packages:
	@command -v qemu-system-x86_64 >/dev/null && command -v debootstrap >/dev/null || \
	    { apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y $(VM_PACKAGES) >/dev/null; }

build: setup
	$(BIN)/ansible-galaxy collection build --force --output-path build/

# Benchmarks print tables; throughput and failover need the converged lab (make lab).
bench: setup
	$(PY) bench/peers.py
	$(PY) bench/lb_program.py
	$(PY) bench/throughput.py
	$(PY) bench/services.py
	$(PY) bench/dns.py
	$(PY) bench/failover.py
	$(PY) bench/converge.py     # last: it makes its own lab hosts and destroys them

clean:
	rm -rf build tests/output
