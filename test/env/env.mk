# env.mk: the local Kubernetes environment (see test/env/up.sh).
# Included by the root Makefile, or standalone:
#   make -f test/env/env.mk env-up
# Targets: env-tools env-up env-down env-purge env-status.

KGATE_ENV_MK_DIR := $(patsubst %/,%,$(dir $(abspath $(lastword $(MAKEFILE_LIST)))))
kgate_env_standalone := $(filter 1,$(words $(MAKEFILE_LIST)))
kgate_env_prev_goal := $(.DEFAULT_GOAL)

.PHONY: env-tools env-up env-down env-purge env-status

env-tools: ## Build kube-apiserver, etcd, kwok, kubectl v1.36.3, node agent (cached)
	@bash $(KGATE_ENV_MK_DIR)/build-tools.sh >/dev/null

# CLUSTERS=2 (or KGATE_ENV_CLUSTERS=2 in the environment) also starts the
# second cluster, prod; see test/env/README.md.
env-up: env-tools ## Start the local cluster (+ slapd; CLUSTERS=2: also cluster prod); then: source .localenv/env.sh
	@$(if $(CLUSTERS),KGATE_ENV_CLUSTERS=$(CLUSTERS) )bash $(KGATE_ENV_MK_DIR)/up.sh

env-down: ## Stop the local environment (state stays in .localenv)
	@bash $(KGATE_ENV_MK_DIR)/down.sh

env-purge: ## Stop the local environment and delete .localenv
	@bash $(KGATE_ENV_MK_DIR)/down.sh --purge

env-status: ## Show the local environment's processes, nodes and seed pods
	@bash $(KGATE_ENV_MK_DIR)/status.sh

# Included: leave the including Makefile's default goal alone. Standalone:
# env-status.
ifeq ($(kgate_env_standalone),1)
.DEFAULT_GOAL := env-status
else
.DEFAULT_GOAL := $(kgate_env_prev_goal)
endif
