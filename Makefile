# clgan build. `make` builds the tools; `make test` builds and runs every test.
CC      ?= cc
CFLAGS  ?= -O2
CFLAGS  += -std=c11 -D_GNU_SOURCE -Wall -Wextra -MMD -MP -Ihost -Imodels -Ibuild -Ikernels \
           -DCL_TARGET_OPENCL_VERSION=120 -isystem /usr/include/stb
LDLIBS  += -lclblast -lOpenCL -linih -lz -lm -lpthread

# Data parallelism over MPI (host/comm.h): `make MPI=1` links ./train against MPI (flags from
# `mpicc --showme`, else pkg-config ompi-c); MPI=auto does so where MPI is found. The default build has no
# MPI dependency: host/comm.c is then a single rank. `make tests` builds build/train_mpi wherever MPI is
# found, for tests/test_mpi.sh.
MPI        ?= 0
MPI_CFLAGS := $(shell mpicc --showme:compile 2>/dev/null || pkg-config --cflags ompi-c 2>/dev/null)
MPI_LIBS   := $(shell mpicc --showme:link 2>/dev/null || pkg-config --libs ompi-c 2>/dev/null)
ifeq ($(MPI),auto)
MPI := $(if $(MPI_LIBS),1,0)
endif
ifeq ($(MPI),1)
ifeq ($(strip $(MPI_LIBS)),)
$(error MPI=1: no MPI found (neither `mpicc --showme` nor pkg-config ompi-c); install libopenmpi-dev)
endif
endif

HOST_SRC  := $(wildcard host/*.c host/ops/*.c models/*.c)
HOST_OBJ  := $(patsubst %.c,build/%.o,$(HOST_SRC)) build/kernels_embedded.o
TOOLS     := train bench translate make_edges2fashion evaluate
# ./bench is tools/bench.c plus its tools/bench_*.c parts
BENCH_OBJ := $(patsubst %.c,build/%.o,$(wildcard tools/bench_*.c))
# ./evaluate is tools/evaluate.c plus its tools/evaluate_*.c parts (the statistics test links them too)
EVAL_OBJ  := $(patsubst %.c,build/%.o,$(wildcard tools/evaluate_*.c))
TEST_SRC  := $(wildcard tests/test_*.c)
TEST_BIN  := $(patsubst tests/%.c,build/tests/%,$(TEST_SRC))
TEST_SH   := $(wildcard tests/test_*.sh)
# Kernel files (each built into the program) and the files they #include by name (kernels/*.h: shared
# with the host; kernels/*.clh: device functions). No order matters: each file includes what it uses.
CL_SRC    := $(sort $(wildcard kernels/*.cl))
CL_LIB    := $(sort $(wildcard kernels/*.h kernels/*.clh))

all: $(TOOLS)

build/%.o: %.c | build/kernel_launch.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

# Kernel sources are embedded in the binaries (built at run time by the OpenCL driver), so the
# tools run from any directory. CLGAN_KERNEL_DIR=kernels loads them from disk instead.
build/embed_cl: tools/embed_cl.c
	@mkdir -p build
	$(CC) -std=c11 -Wall -Wextra -O2 $< -o $@
# The list of kernel files is a dependency too, so removing a .cl file re-embeds the rest.
CL_LIST := build/cl_list.txt
$(shell mkdir -p build; echo '$(CL_SRC) $(CL_LIB)' | cmp -s - $(CL_LIST) || echo '$(CL_SRC) $(CL_LIB)' > $(CL_LIST))
build/kernels_embedded.c: build/embed_cl $(CL_SRC) $(CL_LIB) $(CL_LIST)
	build/embed_cl $(CL_SRC) $(CL_LIB) > $@
# One typed launcher per kernel (host/device.h, "Typed launches"), generated from the signatures.
build/kernel_launch.h: build/embed_cl $(CL_SRC) $(CL_LIST)
	build/embed_cl --launchers $(CL_SRC) > $@.tmp && mv $@.tmp $@
build/kernels_embedded.o: build/kernels_embedded.c
	$(CC) $(CFLAGS) -c $< -o $@

build/libclgan.a: $(HOST_OBJ)
	ar rcs $@ $^

$(TOOLS): %: build/tools/%.o build/libclgan.a
	$(CC) $(CFLAGS) $(filter %.o,$^) $(filter %.a,$^) -o $@ $(LDLIBS)
bench: $(BENCH_OBJ)
evaluate: $(EVAL_OBJ)
build/tests/test_evaluate_stats: build/tools/evaluate_stats.o

# host/comm.c over MPI; ./train relinks when MPI changes (the file below holds the last value).
MPI_MODE := build/mpi_mode.txt
$(shell mkdir -p build; echo '$(MPI)' | cmp -s - $(MPI_MODE) || echo '$(MPI)' > $(MPI_MODE))
build/mpi/comm.o: host/comm.c | build/kernel_launch.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -DCLGAN_MPI $(MPI_CFLAGS) -c $< -o $@
train: $(MPI_MODE)
ifeq ($(MPI),1)
train: build/mpi/comm.o
train: LDLIBS += $(MPI_LIBS)
endif
build/train_mpi: build/tools/train.o build/mpi/comm.o build/libclgan.a
	$(CC) $(CFLAGS) $(filter %.o,$^) $(filter %.a,$^) -o $@ $(LDLIBS) $(MPI_LIBS)
build/tests/test_mpi_norm_mpi: build/tests/test_mpi_norm.o build/mpi/comm.o build/libclgan.a
	$(CC) $(CFLAGS) $(filter %.o,$^) $(filter %.a,$^) -o $@ $(LDLIBS) $(MPI_LIBS)
MPI_TESTS := $(if $(strip $(MPI_LIBS)),build/train_mpi build/tests/test_mpi_norm_mpi)

build/tests/%: build/tests/%.o build/libclgan.a
	$(CC) $(CFLAGS) $(filter %.o,$^) $(filter %.a,$^) -o $@ $(LDLIBS)

tests: $(TEST_BIN) $(MPI_TESTS)

test: all tests
	@sh tests/run.sh $(TEST_BIN) $(TEST_SH)

# The kernel tests at small sizes on Oclgrind (Debian package oclgrind): out-of-bounds accesses,
# OpenCL API misuse and data races fail the target (tests/oclgrind.sh).
OCLGRIND_TESTS := build/tests/test_elem build/tests/test_norm build/tests/test_conv build/tests/test_ops \
                  build/tests/test_conv_rect build/tests/test_lpips_diff \
                  build/tests/test_linear build/tests/test_bce_vec build/tests/test_conv_elu build/tests/test_norm_act \
                  build/tests/test_conv_keep_pad
test-oclgrind: $(OCLGRIND_TESTS)
	@sh tests/oclgrind.sh $(OCLGRIND_TESTS)

clean:
	rm -rf build $(TOOLS)

.PHONY: all test tests test-oclgrind clean
.SECONDARY:
-include $(shell find build -name '*.d' 2>/dev/null)
