# SPDX-License-Identifier: GPL-2.0
# The README's commands; everything is in scripts/harness.

.PHONY: kunit kunit-base kunit-each kunit-smp test apply export callers static docs series bench user user-long

kunit kunit-base kunit-each kunit-smp test apply export callers static docs series bench user user-long:
	@bash scripts/harness $@
