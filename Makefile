# Cartbot: build, test and run.
#
#   make            build the five nginx modules, cartbot-ctl, unit tests
#   make unit       run the C unit tests of shared/
#   make test       install what is missing, build, run every test
#   make run        start the whole product on PORT (default 8080)
#
# NGINX_SRC=/path/to/nginx-x.y.z make   builds against another nginx tree.

NGINX_SRC   ?= /usr/share/nginx/src
NGINX_BIN   ?= /usr/sbin/nginx
BUILD       ?= build
PORT        ?= 8080

CC          ?= cc
CFLAGS      ?= -O2 -g
CORE_CFLAGS  = $(CFLAGS) -std=gnu11 -Wall -Wextra -Werror -fPIC \
               -fvisibility=hidden -Ishared
CORE_LIBS    = -lyajl -lcrypto -lm

MODULES      = gateway cart product session chat
MODULE_SO    = $(MODULES:%=$(BUILD)/modules/ngx_cartbot_%_module.so)

CORE_SRCS    = $(wildcard shared/*.c)
CORE_HDRS    = $(wildcard shared/*.h)
CORE_OBJS    = $(CORE_SRCS:shared/%.c=$(BUILD)/core/%.o)
UNIT_SRCS    = $(wildcard shared/test/*.c)
CTL_SRCS     = $(wildcard tools/cartbot-ctl/*.c)
GLUE_SRCS    = $(wildcard ngx_cartbot_*/*.c ngx_cartbot_*/*.h)

.PHONY: all modules unit test test-db test-ctl test-t test-valgrind deps run \
        clean check-signature

all: modules $(BUILD)/bin/cartbot-ctl $(BUILD)/unit-tests

# --- the nginx modules ------------------------------------------------------

# configure runs on a private copy of the nginx tree, with Debian's own
# flags when the tree has them (conf_flags), so the binary signature matches
$(BUILD)/nginx/objs/Makefile: config
	@test -x $(NGINX_SRC)/configure || test -x $(NGINX_SRC)/auto/configure || \
	    { echo "no nginx source tree at $(NGINX_SRC) (apt-get install nginx-dev, or set NGINX_SRC)" >&2; exit 1; }
	rm -rf $(BUILD)/nginx
	mkdir -p $(BUILD)
	cp -a $(NGINX_SRC) $(BUILD)/nginx
	cd $(BUILD)/nginx && scripts=$(CURDIR)/scripts \
	    $(CURDIR)/scripts/configure-nginx.sh $(CURDIR)

$(MODULE_SO): $(BUILD)/nginx/objs/Makefile $(CORE_SRCS) $(CORE_HDRS) \
              $(GLUE_SRCS) ngx_cartbot_common/cartbot.map
	$(MAKE) -C $(BUILD)/nginx -f objs/Makefile modules
	mkdir -p $(BUILD)/modules
	for m in $(MODULES); do \
	    install -m 0755 $(BUILD)/nginx/objs/ngx_cartbot_$${m}_module.so \
	        $(BUILD)/modules/ || exit 1; \
	done

modules: $(MODULE_SO)

check-signature: modules
	@want=$$(strings $(NGINX_BIN) | grep -E '^[0-9]+,[0-9]+,[0-9]+,[01]{30,}$$'); \
	for so in $(MODULE_SO); do \
	    got=$$(strings $$so | grep -E '^[0-9]+,[0-9]+,[0-9]+,[01]{30,}$$'); \
	    if [ "$$got" != "$$want" ]; then \
	        echo "signature mismatch: $$so ($$got) vs $(NGINX_BIN) ($$want)"; exit 1; \
	    fi; \
	done; echo "signature ok: $$want"

# --- the pure C core, its unit tests and the CLI --------------------------

$(BUILD)/core/%.o: shared/%.c $(CORE_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CORE_CFLAGS) -c -o $@ $<

$(BUILD)/libcartbot.a: $(CORE_OBJS)
	rm -f $@
	ar rcs $@ $^

$(BUILD)/unit-tests: $(UNIT_SRCS) $(BUILD)/libcartbot.a shared/test/cartbot_test.h
	$(CC) $(CORE_CFLAGS) -Ishared/test -o $@ $(UNIT_SRCS) \
	    $(BUILD)/libcartbot.a $(CORE_LIBS)

$(BUILD)/bin/cartbot-ctl: $(CTL_SRCS) $(wildcard tools/cartbot-ctl/*.h) \
                          $(BUILD)/libcartbot.a
	@mkdir -p $(dir $@)
	$(CC) $(CORE_CFLAGS) -o $@ $(CTL_SRCS) $(BUILD)/libcartbot.a \
	    -lcurl $(CORE_LIBS)

unit: $(BUILD)/unit-tests
	$(BUILD)/unit-tests

# --- everything else --------------------------------------------------------

deps:
	scripts/deps.sh

test: deps
	$(MAKE) all
	$(MAKE) check-signature
	$(MAKE) unit
	$(MAKE) test-db
	$(MAKE) test-ctl
	$(MAKE) test-t

test-db:
	cd tools/surreal-dev && node --test test/

test-ctl:
	CARTBOT_CTL=$(CURDIR)/$(BUILD)/bin/cartbot-ctl tools/cartbot-ctl/test.sh

test-t:
	CARTBOT_BUILD=$(CURDIR)/$(BUILD) NGINX_BIN=$(NGINX_BIN) \
	    prove -I t/lib -v t/ 2>&1 | scripts/summary.sh

# the t/ suite with nginx under valgrind (one process, master_process off)
test-valgrind:
	CARTBOT_VALGRIND=1 CARTBOT_BUILD=$(CURDIR)/$(BUILD) NGINX_BIN=$(NGINX_BIN) \
	    prove -I t/lib t/

run: deps
	$(MAKE) all
	PORT=$(PORT) BUILD=$(CURDIR)/$(BUILD) NGINX_BIN=$(NGINX_BIN) scripts/run.sh

clean:
	rm -rf $(BUILD)
