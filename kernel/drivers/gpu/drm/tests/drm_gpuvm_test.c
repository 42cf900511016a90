// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * KUnit tests of the DRM GPU VA manager.
 *
 * Addresses in the tables are in pages of PG bytes; the VA space of every
 * test is [0, SPACE_PAGES) pages with the kernel-reserved node at
 * [RSV_START, RSV_END). Maps of the address space above a case use one
 * character per page: a letter for the object, '-' for sparse, ' ' free.
 *
 * Every case written against the 6.12 API also runs against the base
 * tree's own GPUVM (make kunit-base builds this file there with
 * DRM_GPUVM_TEST_BASE defined). The cases that need our allocation hooks
 * are left out there; the rows of drm_test_gpuvm_differences are the
 * deliberate differences and must fail there; everything else must pass
 * on both.
 */

#include <kunit/static_stub.h>
#include <kunit/test.h>

#include <linux/atomic.h>
#include <linux/completion.h>
#include <linux/delay.h>
#include <linux/kthread.h>
#include <linux/prandom.h>
#include <linux/sched/signal.h>
#include <linux/seq_file.h>
#include <linux/slab.h>

#include <drm/drm_debugfs.h>
#include <drm/drm_device.h>
#include <drm/drm_drv.h>
#include <drm/drm_exec.h>
#include <drm/drm_gem.h>
#include <drm/drm_gpuvm.h>
#include <drm/drm_kunit_helpers.h>

#define PG 0x1000ull
#define SPACE_PAGES 1024ull
#define RSV_START 1000ull
#define RSV_END 1024ull
#define MAX_VAS 64

/* Object indices used by the tables. */
enum { OBJ_NONE, OBJ_A, OBJ_B, OBJ_C, OBJ_D, OBJ_COUNT };

struct gpuvm_test {
	struct kunit *test;
	struct drm_device *drm;
	struct drm_gem_object *r_obj;
	struct drm_gpuvm *gpuvm;
	bool vm_freed;
	struct drm_gem_object objs[OBJ_COUNT];

	/* Mappings the tests allocate, counted to prove nothing leaks. */
	int vas_live;

	/* op_alloc/op_free accounting and fault injection. */
	int ops_live;
	int op_allocs;
	int fail_op_alloc_at;	/* 0: never; N: the Nth call fails */

	/* vm_bo_alloc/vm_bo_free accounting and fault injection. */
	int vm_bos_live;
	int vm_bo_allocs;
	int fail_vm_bo_alloc_at;

	/*
	 * The library's own allocations (drm_gpuvm_kzalloc/kfree, stubbed):
	 * atomic, as a helper thread of a test may allocate and free too.
	 */
	atomic_t mem_live;
	atomic_t mem_allocs;
	int fail_mem_at;
};

/* The ops callbacks carry no context argument: one test runs at a time. */
static struct gpuvm_test *cur;

static struct drm_gem_object *obj_of(struct gpuvm_test *t, int idx)
{
	return idx == OBJ_NONE ? NULL : &t->objs[idx];
}

static void test_vm_free(struct drm_gpuvm *gpuvm)
{
	cur->vm_freed = true;
	kfree(gpuvm);
}

static struct drm_gpuva_op *test_op_alloc(void)
{
	cur->op_allocs++;
	if (cur->fail_op_alloc_at && cur->op_allocs == cur->fail_op_alloc_at)
		return NULL;
	cur->ops_live++;
	return kzalloc(sizeof(struct drm_gpuva_op), GFP_KERNEL);
}

static void test_op_free(struct drm_gpuva_op *op)
{
	cur->ops_live--;
	kfree(op);
}

static struct drm_gpuvm_bo *test_vm_bo_alloc(void)
{
	cur->vm_bo_allocs++;
	if (cur->fail_vm_bo_alloc_at &&
	    cur->vm_bo_allocs == cur->fail_vm_bo_alloc_at)
		return NULL;
	cur->vm_bos_live++;
	return kzalloc(sizeof(struct drm_gpuvm_bo), GFP_KERNEL);
}

static void test_vm_bo_free(struct drm_gpuvm_bo *vm_bo)
{
	cur->vm_bos_live--;
	kfree(vm_bo);
}

/*
 * Replace the library's allocator for the whole of every test. The base
 * tree's GPUVM has no such hook: there the counters stay at zero.
 */
static void *stub_kzalloc(size_t size)
{
	int n = atomic_inc_return(&cur->mem_allocs);

	if (cur->fail_mem_at && n == cur->fail_mem_at)
		return NULL;
	atomic_inc(&cur->mem_live);
	return kzalloc(size, GFP_KERNEL);
}

static void stub_kfree(const void *ptr)
{
	if (ptr)
		atomic_dec(&cur->mem_live);
	kfree(ptr);
}

static struct drm_gpuva *va_new(struct gpuvm_test *t)
{
	struct drm_gpuva *va = kzalloc(sizeof(*va), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(t->test, va);
	t->vas_live++;
	INIT_LIST_HEAD(&va->gem.entry);
	return va;
}

static void va_free(struct gpuvm_test *t, struct drm_gpuva *va)
{
	t->vas_live--;
	kfree(va);
}

/* How the vm_bo_validate callback behaves, and what it saw. */
struct validate_log {
	struct drm_gpuvm_bo *seen[8];
	int n;
	bool clear;		/* clear the evicted state, as a move would */
	int fail_at;		/* return -ENOSPC from the Nth call */
	/* Other vm_bos the first call un-evicts and evicts. */
	struct drm_gpuvm_bo *unevict_other;
	struct drm_gpuvm_bo *evict_other;
};

static struct validate_log vlog;

static int test_vm_bo_validate(struct drm_gpuvm_bo *vm_bo,
			       struct drm_exec *exec)
{
	if (vlog.n < ARRAY_SIZE(vlog.seen))
		vlog.seen[vlog.n] = vm_bo;
	vlog.n++;
	if (vlog.fail_at && vlog.n == vlog.fail_at)
		return -ENOSPC;
	if (vlog.n == 1 && vlog.unevict_other)
		drm_gpuvm_bo_evict(vlog.unevict_other, false);
	if (vlog.n == 1 && vlog.evict_other)
		drm_gpuvm_bo_evict(vlog.evict_other, true);
	if (vlog.clear)
		drm_gpuvm_bo_evict(vm_bo, false);
	return 0;
}

/* Callbacks used by drm_gpuvm_sm_map()/sm_unmap() tests; see below. */
static int step_map(struct drm_gpuva_op *op, void *priv);
static int step_remap(struct drm_gpuva_op *op, void *priv);
static int step_unmap(struct drm_gpuva_op *op, void *priv);

static const struct drm_gpuvm_ops test_ops = {
	.vm_free = test_vm_free,
	.op_alloc = test_op_alloc,
	.op_free = test_op_free,
	.vm_bo_alloc = test_vm_bo_alloc,
	.vm_bo_free = test_vm_bo_free,
	.vm_bo_validate = test_vm_bo_validate,
	.sm_step_map = step_map,
	.sm_step_remap = step_remap,
	.sm_step_unmap = step_unmap,
};

static void test_obj_free(struct drm_gem_object *obj)
{
	drm_gem_object_release(obj);
}

static const struct drm_gem_object_funcs test_obj_funcs = {
	.free = test_obj_free,
};

/* A driver with no allocators of its own: the library allocates. */
static const struct drm_gpuvm_ops bare_ops = {
	.vm_free = test_vm_free,
	.vm_bo_validate = test_vm_bo_validate,
};

/* Creates a test VM: [0, SPACE_PAGES) with the reserved node on top. */
static struct drm_gpuvm *vm_create_ops(struct gpuvm_test *t,
				       enum drm_gpuvm_flags flags,
				       const struct drm_gpuvm_ops *ops)
{
	struct drm_gpuvm *vm = kzalloc(sizeof(*vm), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(t->test, vm);
	drm_gpuvm_init(vm, "test", flags, t->drm, t->r_obj, 0,
		       SPACE_PAGES * PG, RSV_START * PG,
		       (RSV_END - RSV_START) * PG, ops);
	return vm;
}

static struct drm_gpuvm *vm_create(struct gpuvm_test *t,
				   enum drm_gpuvm_flags flags)
{
	return vm_create_ops(t, flags, &test_ops);
}

/* Swaps the fixture's (empty) VM for one with other flags or ops. */
static void vm_replace(struct gpuvm_test *t, enum drm_gpuvm_flags flags,
		       const struct drm_gpuvm_ops *ops)
{
	drm_gpuvm_put(t->gpuvm);
	KUNIT_EXPECT_TRUE(t->test, t->vm_freed);
	t->vm_freed = false;
	t->gpuvm = vm_create_ops(t, flags, ops);
}

static void space_clear(struct gpuvm_test *t);

static int gpuvm_test_init(struct kunit *test)
{
	struct gpuvm_test *t;
	struct device *dev;
	int i;

	t = kunit_kzalloc(test, sizeof(*t), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, t);
	t->test = test;
	test->priv = t;
	cur = t;

	dev = drm_kunit_helper_alloc_device(test);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, dev);
	t->drm = __drm_kunit_helper_alloc_drm_device(test, dev,
						     sizeof(*t->drm), 0,
						     DRIVER_GEM);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, t->drm);

#ifndef DRM_GPUVM_TEST_BASE
	kunit_activate_static_stub(test, drm_gpuvm_kzalloc, stub_kzalloc);
	kunit_activate_static_stub(test, drm_gpuvm_kfree, stub_kfree);
#endif

	for (i = OBJ_A; i < OBJ_COUNT; i++) {
		t->objs[i].funcs = &test_obj_funcs;
		drm_gem_private_object_init(t->drm, &t->objs[i], 16 * PG);
		drm_gem_gpuva_init(&t->objs[i]);
	}

	t->r_obj = drm_gpuvm_resv_object_alloc(t->drm);
	KUNIT_ASSERT_NOT_NULL(test, t->r_obj);

	t->gpuvm = vm_create(t, 0);
	return 0;
}

/* Removes and frees every mapping left, then drops the VM. */
static void gpuvm_test_exit(struct kunit *test)
{
	struct gpuvm_test *t = test->priv;
	int i;

	if (t->gpuvm) {
		space_clear(t);
		KUNIT_EXPECT_EQ_MSG(test, kref_read(&t->gpuvm->kref), 1,
				    "VM references left");
		drm_gpuvm_put(t->gpuvm);
		KUNIT_EXPECT_TRUE(test, t->vm_freed);
	}
	KUNIT_EXPECT_EQ_MSG(test, kref_read(&t->r_obj->refcount), 1,
			    "resv object references left");
	drm_gem_object_put(t->r_obj);
	for (i = OBJ_A; i < OBJ_COUNT; i++) {
		KUNIT_EXPECT_EQ_MSG(test, kref_read(&t->objs[i].refcount), 1,
				    "object %d references left", i);
		t->objs[i].resv = &t->objs[i]._resv;
		drm_gem_object_release(&t->objs[i]);
	}

	KUNIT_EXPECT_EQ_MSG(test, t->vas_live, 0, "mappings leaked");
	KUNIT_EXPECT_EQ_MSG(test, t->ops_live, 0, "ops leaked");
	KUNIT_EXPECT_EQ_MSG(test, t->vm_bos_live, 0, "vm_bos leaked");
	KUNIT_EXPECT_EQ_MSG(test, atomic_read(&t->mem_live), 0,
			    "library allocations leaked");
	cur = NULL;
}

/* A mapping as the tables write it, in pages. */
struct pmap {
	u64 addr;
	u64 range;
	int obj;
	u64 offset;
};

static void space_add(struct gpuvm_test *t, const struct pmap *m)
{
	struct drm_gpuva *va = va_new(t);

	va->va.addr = m->addr * PG;
	va->va.range = m->range * PG;
	va->gem.obj = obj_of(t, m->obj);
	va->gem.offset = m->offset * PG;
	KUNIT_ASSERT_EQ(t->test, drm_gpuva_insert(t->gpuvm, va), 0);
}

/* Takes a snapshot of the space (reserved node excluded), at most @max. */
static int space_snapshot(struct gpuvm_test *t, struct drm_gpuva *out, int max)
{
	struct drm_gpuva *va;
	int n = 0;

	drm_gpuvm_for_each_va(va, t->gpuvm) {
		if (va == &t->gpuvm->kernel_alloc_node)
			continue;
		if (n < max)
			out[n] = *va;
		n++;
	}
	return n;
}

/*
 * Checks the space holds exactly @exp (in address order) plus the reserved
 * node. An entry with obj < 0 stands for the request: @req_obj/@req_off.
 */
static bool space_is(struct gpuvm_test *t, const struct pmap *exp, int n,
		     struct drm_gem_object *req_obj, u64 req_off,
		     const char *what)
{
	struct drm_gpuva *va_buf;
	int got, i;

	va_buf = kunit_kmalloc_array(t->test, MAX_VAS, sizeof(*va_buf),
				     GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(t->test, va_buf);
	got = space_snapshot(t, va_buf, MAX_VAS);

	if (got != n) {
		KUNIT_FAIL(t->test, "%s: %d mappings, expected %d", what, got, n);
		return false;
	}
	for (i = 0; i < n; i++) {
		struct drm_gem_object *obj = exp[i].obj < 0 ? req_obj :
					     obj_of(t, exp[i].obj);
		u64 off = exp[i].obj < 0 ? req_off : exp[i].offset * PG;
		struct drm_gpuva *va = &va_buf[i];

		if (va->va.addr != exp[i].addr * PG ||
		    va->va.range != exp[i].range * PG ||
		    va->gem.obj != obj || va->gem.offset != off) {
			KUNIT_FAIL(t->test,
				   "%s: mapping %d is [%#llx +%#llx] obj %p off %#llx, expected [%#llx +%#llx] obj %p off %#llx",
				   what, i, va->va.addr, va->va.range,
				   va->gem.obj, va->gem.offset,
				   exp[i].addr * PG, exp[i].range * PG, obj, off);
			return false;
		}
	}
	return true;
}

/* ---- Recording steps from both APIs ------------------------------------ */

#define MAX_STEPS 8

/* A step as seen by the driver, copied out of the op. */
struct rec_step {
	enum drm_gpuva_op_type type;
	u64 va_addr;			/* UNMAP/REMAP/PREFETCH: the mapping */
	bool keep;
	bool has_prev;
	bool has_next;
	struct drm_gpuva_op_map prev;
	struct drm_gpuva_op_map next;
	struct drm_gpuva_op_map map;	/* MAP */
};

struct recorder {
	struct gpuvm_test *t;
	struct rec_step steps[MAX_STEPS];
	int n;
	bool apply;		/* apply each step to the space, as panthor does */
	int fail_at;		/* return -EIO from the Nth callback */
};

static int record(struct recorder *r, const struct drm_gpuva_op *op)
{
	struct rec_step *s;

	if (r->n >= MAX_STEPS) {
		KUNIT_FAIL(r->t->test, "more than %d steps", MAX_STEPS);
		return -E2BIG;
	}
	s = &r->steps[r->n++];
	memset(s, 0, sizeof(*s));
	s->type = op->op;
	switch (op->op) {
	case DRM_GPUVA_OP_MAP:
		s->map = op->map;
		break;
	case DRM_GPUVA_OP_UNMAP:
		s->va_addr = op->unmap.va->va.addr;
		s->keep = op->unmap.keep;
		break;
	case DRM_GPUVA_OP_REMAP:
		s->va_addr = op->remap.unmap->va->va.addr;
		s->keep = op->remap.unmap->keep;
		s->has_prev = op->remap.prev;
		s->has_next = op->remap.next;
		if (op->remap.prev)
			s->prev = *op->remap.prev;
		if (op->remap.next)
			s->next = *op->remap.next;
		break;
	case DRM_GPUVA_OP_PREFETCH:
		s->va_addr = op->prefetch.va->va.addr;
		break;
	}
	if (r->fail_at && r->n == r->fail_at)
		return -EIO;
	return 0;
}

/* Applies one step to the space the way a driver does. */
static void apply_op(struct gpuvm_test *t, struct drm_gpuva_op *op)
{
	struct drm_gpuva *va, *prev = NULL, *next = NULL;

	switch (op->op) {
	case DRM_GPUVA_OP_MAP:
		va = va_new(t);
		drm_gpuva_map(t->gpuvm, va, &op->map);
		break;
	case DRM_GPUVA_OP_REMAP:
		va = op->remap.unmap->va;
		if (op->remap.prev)
			prev = va_new(t);
		if (op->remap.next)
			next = va_new(t);
		drm_gpuva_remap(prev, next, &op->remap);
		va_free(t, va);
		break;
	case DRM_GPUVA_OP_UNMAP:
		va = op->unmap.va;
		drm_gpuva_unmap(&op->unmap);
		va_free(t, va);
		break;
	default:
		break;
	}
}

static int step_any(struct drm_gpuva_op *op, void *priv)
{
	struct recorder *r = priv;
	int ret = record(r, op);

	if (!ret && r->apply)
		apply_op(r->t, op);
	return ret;
}

static int step_map(struct drm_gpuva_op *op, void *priv)
{
	KUNIT_EXPECT_EQ(((struct recorder *)priv)->t->test, op->op,
			DRM_GPUVA_OP_MAP);
	return step_any(op, priv);
}

static int step_remap(struct drm_gpuva_op *op, void *priv)
{
	KUNIT_EXPECT_EQ(((struct recorder *)priv)->t->test, op->op,
			DRM_GPUVA_OP_REMAP);
	return step_any(op, priv);
}

static int step_unmap(struct drm_gpuva_op *op, void *priv)
{
	KUNIT_EXPECT_EQ(((struct recorder *)priv)->t->test, op->op,
			DRM_GPUVA_OP_UNMAP);
	return step_any(op, priv);
}

static void record_ops(struct recorder *r, struct drm_gpuva_ops *ops)
{
	struct drm_gpuva_op *op;

	drm_gpuva_for_each_op(op, ops)
		record(r, op);
}

static void apply_ops(struct gpuvm_test *t, struct drm_gpuva_ops *ops)
{
	struct drm_gpuva_op *op;

	drm_gpuva_for_each_op(op, ops)
		apply_op(t, op);
}

/* ---- The split/merge table --------------------------------------------- */

/* An expected REMAP piece, in pages; range 0 means absent. */
struct ppart {
	u64 addr;
	u64 range;
	u64 offset;
};

/* An expected step. The piece objects are those of the old mapping. */
struct exp_step {
	enum drm_gpuva_op_type type;	/* UNMAP or REMAP; MAP is implicit */
	u64 va_addr;			/* old mapping's first page */
	bool keep;			/* in the same-object, contiguous run */
	struct ppart prev;
	struct ppart next;
};

struct sm_case {
	const char *description;
	struct pmap old[4];
	int n_old;
	u64 addr;			/* request, pages */
	u64 range;
	u64 cont_offset;		/* request offset contiguous with obj A */
	bool sparse;			/* request and old are NULL-object */
	struct exp_step steps[4];	/* before the final MAP */
	int n_steps;
	struct pmap after[6];		/* obj -1: the request */
	int n_after;
};

#define REQ -1

static const struct sm_case sm_map_cases[] = {
	{
		/* AAAA -> RRRR */
		.description = "1: same interval",
		.old = { { 0, 4, OBJ_A, 0 } }, .n_old = 1,
		.addr = 0, .range = 4, .cont_offset = 0,
		.steps = { { DRM_GPUVA_OP_UNMAP, 0, true } }, .n_steps = 1,
		.after = { { 0, 4, REQ } }, .n_after = 1,
	},
	{
		/* AAAA at offset 8 -> RRRR */
		.description = "2: same interval, old at another offset",
		.old = { { 0, 4, OBJ_A, 8 } }, .n_old = 1,
		.addr = 0, .range = 4, .cont_offset = 8,
		.steps = { { DRM_GPUVA_OP_UNMAP, 0, true } }, .n_steps = 1,
		.after = { { 0, 4, REQ } }, .n_after = 1,
	},
	{
		/* AAAA -> RRAA */
		.description = "3: request covers the start",
		.old = { { 0, 4, OBJ_A, 0 } }, .n_old = 1,
		.addr = 0, .range = 2, .cont_offset = 0,
		.steps = { { DRM_GPUVA_OP_REMAP, 0, true,
			     .next = { 2, 2, 2 } } }, .n_steps = 1,
		.after = { { 0, 2, REQ }, { 2, 2, OBJ_A, 2 } }, .n_after = 2,
	},
	{
		/* AAAA -> AARR */
		.description = "4: request covers the end",
		.old = { { 0, 4, OBJ_A, 0 } }, .n_old = 1,
		.addr = 2, .range = 2, .cont_offset = 2,
		.steps = { { DRM_GPUVA_OP_REMAP, 0, true,
			     .prev = { 0, 2, 0 } } }, .n_steps = 1,
		.after = { { 0, 2, OBJ_A, 0 }, { 2, 2, REQ } }, .n_after = 2,
	},
	{
		/* AAAA -> ARRA */
		.description = "5: request strictly inside",
		.old = { { 0, 4, OBJ_A, 0 } }, .n_old = 1,
		.addr = 1, .range = 2, .cont_offset = 1,
		.steps = { { DRM_GPUVA_OP_REMAP, 0, true,
			     .prev = { 0, 1, 0 }, .next = { 3, 1, 3 } } },
		.n_steps = 1,
		.after = { { 0, 1, OBJ_A, 0 }, { 1, 2, REQ },
			   { 3, 1, OBJ_A, 3 } }, .n_after = 3,
	},
	{
		/* AAA_ -> ARRRR */
		.description = "6: request starts inside, ends past",
		.old = { { 0, 3, OBJ_A, 0 } }, .n_old = 1,
		.addr = 1, .range = 4, .cont_offset = 1,
		.steps = { { DRM_GPUVA_OP_REMAP, 0, true,
			     .prev = { 0, 1, 0 } } }, .n_steps = 1,
		.after = { { 0, 1, OBJ_A, 0 }, { 1, 4, REQ } }, .n_after = 2,
	},
	{
		/* _AAA -> RRRA */
		.description = "7: request starts before, ends inside",
		.old = { { 1, 3, OBJ_A, 4 } }, .n_old = 1,
		.addr = 0, .range = 3, .cont_offset = 3,
		.steps = { { DRM_GPUVA_OP_REMAP, 1, true,
			     .next = { 3, 1, 6 } } }, .n_steps = 1,
		.after = { { 0, 3, REQ }, { 3, 1, OBJ_A, 6 } }, .n_after = 2,
	},
	{
		/* _AA_ -> RRRR */
		.description = "8: request covers the mapping and more",
		.old = { { 1, 2, OBJ_A, 0 } }, .n_old = 1,
		.addr = 0, .range = 4, .cont_offset = 0 - 1ull,
		.steps = { { DRM_GPUVA_OP_UNMAP, 1, true } }, .n_steps = 1,
		.after = { { 0, 4, REQ } }, .n_after = 1,
	},
	{
		/* AA__ -> AARR */
		.description = "9: request right after, touching",
		.old = { { 0, 2, OBJ_A, 0 } }, .n_old = 1,
		.addr = 2, .range = 2, .cont_offset = 2,
		.n_steps = 0,
		.after = { { 0, 2, OBJ_A, 0 }, { 2, 2, REQ } }, .n_after = 2,
	},
	{
		/* __AA -> RRAA */
		.description = "10: request right before, touching",
		.old = { { 2, 2, OBJ_A, 0 } }, .n_old = 1,
		.addr = 0, .range = 2, .cont_offset = 0 - 2ull,
		.n_steps = 0,
		.after = { { 0, 2, REQ }, { 2, 2, OBJ_A, 0 } }, .n_after = 2,
	},
	{
		/* AA_C_CC -> ARRRRRC */
		.description = "11: request over several mappings and holes",
		.old = { { 0, 2, OBJ_A, 0 }, { 3, 1, OBJ_C, 0 },
			 { 5, 2, OBJ_A, 5 } }, .n_old = 3,
		.addr = 1, .range = 5, .cont_offset = 1,
		.steps = { { DRM_GPUVA_OP_REMAP, 0, true,
			     .prev = { 0, 1, 0 } },
			   { DRM_GPUVA_OP_UNMAP, 3, false },
			   { DRM_GPUVA_OP_REMAP, 5, true,
			     .next = { 6, 1, 6 } } }, .n_steps = 3,
		.after = { { 0, 1, OBJ_A, 0 }, { 1, 5, REQ },
			   { 6, 1, OBJ_A, 6 } }, .n_after = 3,
	},
	{
		/* ---- -> -RR- */
		.description = "12: sparse request inside a sparse mapping",
		.old = { { 0, 4, OBJ_NONE, 0 } }, .n_old = 1,
		.addr = 1, .range = 2, .cont_offset = 1, .sparse = true,
		.steps = { { DRM_GPUVA_OP_REMAP, 0, false,
			     .prev = { 0, 1, 0 }, .next = { 3, 1, 3 } } },
		.n_steps = 1,
		.after = { { 0, 1, OBJ_NONE, 0 }, { 1, 2, REQ },
			   { 3, 1, OBJ_NONE, 3 } }, .n_after = 3,
	},
	{
		/* A__C -> ARRC */
		.description = "13: request in a hole",
		.old = { { 0, 1, OBJ_A, 0 }, { 3, 1, OBJ_C, 0 } }, .n_old = 2,
		.addr = 1, .range = 2, .cont_offset = 1,
		.n_steps = 0,
		.after = { { 0, 1, OBJ_A, 0 }, { 1, 2, REQ },
			   { 3, 1, OBJ_C, 0 } }, .n_after = 3,
	},
	{
		/* AAAA (two mappings) -> RRRR */
		.description = "14: request over two adjacent mappings",
		.old = { { 0, 2, OBJ_A, 0 }, { 2, 2, OBJ_A, 2 } }, .n_old = 2,
		.addr = 0, .range = 4, .cont_offset = 0,
		.steps = { { DRM_GPUVA_OP_UNMAP, 0, true },
			   { DRM_GPUVA_OP_UNMAP, 2, true } }, .n_steps = 2,
		.after = { { 0, 4, REQ } }, .n_after = 1,
	},
	{
		/* AAAA (two mappings, second elsewhere) -> ARRA */
		.description = "15: request over the end of one, start of next",
		.old = { { 0, 2, OBJ_A, 0 }, { 2, 2, OBJ_A, 10 } }, .n_old = 2,
		.addr = 1, .range = 2, .cont_offset = 1,
		.steps = { { DRM_GPUVA_OP_REMAP, 0, true,
			     .prev = { 0, 1, 0 } },
			   { DRM_GPUVA_OP_REMAP, 2, false,
			     .next = { 3, 1, 11 } } }, .n_steps = 2,
		.after = { { 0, 1, OBJ_A, 0 }, { 1, 2, REQ },
			   { 3, 1, OBJ_A, 11 } }, .n_after = 3,
	},
	{
		/* AABBBBCC (four mappings) -> ARRRRRRC */
		.description = "16: REMAP, two UNMAPs, REMAP",
		.old = { { 0, 2, OBJ_A, 0 }, { 2, 2, OBJ_B, 0 },
			 { 4, 2, OBJ_B, 2 }, { 6, 2, OBJ_C, 0 } }, .n_old = 4,
		.addr = 1, .range = 6, .cont_offset = 1,
		.steps = { { DRM_GPUVA_OP_REMAP, 0, true,
			     .prev = { 0, 1, 0 } },
			   { DRM_GPUVA_OP_UNMAP, 2, false },
			   { DRM_GPUVA_OP_UNMAP, 4, false },
			   { DRM_GPUVA_OP_REMAP, 6, false,
			     .next = { 7, 1, 1 } } }, .n_steps = 4,
		.after = { { 0, 1, OBJ_A, 0 }, { 1, 6, REQ },
			   { 7, 1, OBJ_C, 1 } }, .n_after = 3,
	},
	{
		/* AAAA -> A-A- style: sparse request over a backed mapping */
		.description = "17: sparse request inside a backed mapping",
		.old = { { 0, 4, OBJ_A, 0 } }, .n_old = 1,
		.addr = 1, .range = 2, .cont_offset = 1, .sparse = true,
		.steps = { { DRM_GPUVA_OP_REMAP, 0, false,
			     .prev = { 0, 1, 0 }, .next = { 3, 1, 3 } } },
		.n_steps = 1,
		.after = { { 0, 1, OBJ_A, 0 }, { 1, 2, REQ },
			   { 3, 1, OBJ_A, 3 } }, .n_after = 3,
	},
};

static void sm_case_desc(const struct sm_case *c, char *desc)
{
	strscpy(desc, c->description, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(sm_map, sm_map_cases, sm_case_desc);

/* How a case's request is chosen. */
enum variant { V_OTHER_OBJ, V_SAME_CONT, V_SAME_NONCONT, V_COUNT };

static const char *const variant_name[] = {
	[V_OTHER_OBJ] = "other object",
	[V_SAME_CONT] = "same object, contiguous offset",
	[V_SAME_NONCONT] = "same object, other offset",
};

static void req_of(struct gpuvm_test *t, const struct sm_case *c,
		   enum variant v, struct drm_gem_object **obj, u64 *off)
{
	if (c->sparse) {
		*obj = NULL;
		*off = 0;
		return;
	}
	/* Object D is never part of an old mapping. */
	*obj = obj_of(t, v == V_OTHER_OBJ ? OBJ_D : OBJ_A);
	*off = c->cont_offset * PG;
	if (v == V_SAME_NONCONT)
		*off += 100 * PG;
	else if (v == V_OTHER_OBJ)
		*off = 40 * PG;
}

/* The object of the i-th old mapping covering @addr. */
static const struct pmap *old_at(const struct sm_case *c, u64 va_addr)
{
	int i;

	for (i = 0; i < c->n_old; i++)
		if (c->old[i].addr == va_addr)
			return &c->old[i];
	return NULL;
}

static bool part_is(struct kunit *test, const char *what, int i,
		    const struct drm_gpuva_op_map *got, bool present,
		    const struct ppart *exp, struct drm_gem_object *obj)
{
	if (present != !!exp->range) {
		KUNIT_FAIL(test, "%s: step %d piece present %d, expected %d",
			   what, i, present, !!exp->range);
		return false;
	}
	if (!present)
		return true;
	if (got->va.addr != exp->addr * PG || got->va.range != exp->range * PG ||
	    got->gem.obj != obj || got->gem.offset != exp->offset * PG) {
		KUNIT_FAIL(test,
			   "%s: step %d piece [%#llx +%#llx] obj %p off %#llx, expected [%#llx +%#llx] obj %p off %#llx",
			   what, i, got->va.addr, got->va.range, got->gem.obj,
			   got->gem.offset, exp->addr * PG, exp->range * PG,
			   obj, exp->offset * PG);
		return false;
	}
	return true;
}

/* Compares recorded steps with a case's expectation (plus the final MAP). */
static bool steps_are(struct gpuvm_test *t, const struct recorder *r,
		      const struct exp_step *exp, int n, bool with_map,
		      u64 addr, u64 range, struct drm_gem_object *obj,
		      u64 off, bool keep_allowed, const struct sm_case *c,
		      const char *what)
{
	struct kunit *test = t->test;
	int i, want = n + with_map;

	if (r->n != want) {
		KUNIT_FAIL(test, "%s: %d steps, expected %d", what, r->n, want);
		return false;
	}
	for (i = 0; i < n; i++) {
		const struct rec_step *s = &r->steps[i];
		const struct pmap *o = old_at(c, exp[i].va_addr);
		struct drm_gem_object *oobj = o ? obj_of(t, o->obj) : NULL;
		bool keep = keep_allowed && exp[i].keep;

		if (s->type != exp[i].type || s->va_addr != exp[i].va_addr * PG ||
		    s->keep != keep) {
			KUNIT_FAIL(test,
				   "%s: step %d is type %d va %#llx keep %d, expected type %d va %#llx keep %d",
				   what, i, s->type, s->va_addr, s->keep,
				   exp[i].type, exp[i].va_addr * PG, keep);
			return false;
		}
		if (s->type == DRM_GPUVA_OP_REMAP &&
		    (!part_is(test, what, i, &s->prev, s->has_prev,
			      &exp[i].prev, oobj) ||
		     !part_is(test, what, i, &s->next, s->has_next,
			      &exp[i].next, oobj)))
			return false;
	}
	if (with_map) {
		const struct rec_step *s = &r->steps[n];

		if (s->type != DRM_GPUVA_OP_MAP || s->map.va.addr != addr ||
		    s->map.va.range != range || s->map.gem.obj != obj ||
		    s->map.gem.offset != off) {
			KUNIT_FAIL(test,
				   "%s: last step type %d [%#llx +%#llx] obj %p off %#llx, expected MAP [%#llx +%#llx] obj %p off %#llx",
				   what, s->type, s->map.va.addr, s->map.va.range,
				   s->map.gem.obj, s->map.gem.offset, addr, range,
				   obj, off);
			return false;
		}
	}
	return true;
}

static void space_build(struct gpuvm_test *t, const struct pmap *m, int n)
{
	int i;

	for (i = 0; i < n; i++)
		space_add(t, &m[i]);
}

static void space_clear(struct gpuvm_test *t)
{
	struct drm_gpuva *va, *next;

	drm_gpuvm_for_each_va_safe(va, next, t->gpuvm) {
		if (va == &t->gpuvm->kernel_alloc_node)
			continue;
		drm_gpuva_remove(va);
		va_free(t, va);
	}
}

static void drm_test_gpuvm_sm_map(struct kunit *test)
{
	const struct sm_case *c = test->param_value;
	struct gpuvm_test *t = test->priv;
	int v;

	for (v = 0; v < V_COUNT; v++) {
		struct drm_gem_object *obj;
		struct recorder r = { .t = t };
		struct drm_gpuva_ops *ops;
		char what[96];
		u64 off;
		bool keep_allowed = v == V_SAME_CONT && !c->sparse;

		req_of(t, c, v, &obj, &off);

		/* The ops-list API, then applying the list. */
		snprintf(what, sizeof(what), "%s, ops list", variant_name[v]);
		space_build(t, c->old, c->n_old);
		ops = drm_gpuvm_sm_map_ops_create(t->gpuvm, c->addr * PG,
						  c->range * PG, obj, off);
		KUNIT_ASSERT_NOT_ERR_OR_NULL(test, ops);
		record_ops(&r, ops);
		steps_are(t, &r, c->steps, c->n_steps, true, c->addr * PG,
			  c->range * PG, obj, off, keep_allowed, c, what);
		apply_ops(t, ops);
		drm_gpuva_ops_free(t->gpuvm, ops);
		KUNIT_EXPECT_EQ(test, t->ops_live, 0);
		space_is(t, c->after, c->n_after, obj, off, what);
		space_clear(t);

		/* The callback API, applying each step as it comes. */
		snprintf(what, sizeof(what), "%s, callbacks", variant_name[v]);
		memset(&r, 0, sizeof(r));
		r.t = t;
		r.apply = true;
		space_build(t, c->old, c->n_old);
		KUNIT_ASSERT_EQ(test, drm_gpuvm_sm_map(t->gpuvm, &r,
						       c->addr * PG,
						       c->range * PG, obj, off),
				0);
		steps_are(t, &r, c->steps, c->n_steps, true, c->addr * PG,
			  c->range * PG, obj, off, keep_allowed, c, what);
		space_is(t, c->after, c->n_after, obj, off, what);
		space_clear(t);
	}
}

/* Unmap requests: no final MAP, never keep. */
static const struct sm_case sm_unmap_cases[] = {
	{
		/* AAAA -> A__A */
		.description = "inside one mapping",
		.old = { { 0, 4, OBJ_A, 0 } }, .n_old = 1,
		.addr = 1, .range = 2,
		.steps = { { DRM_GPUVA_OP_REMAP, 0, false,
			     .prev = { 0, 1, 0 }, .next = { 3, 1, 3 } } },
		.n_steps = 1,
		.after = { { 0, 1, OBJ_A, 0 }, { 3, 1, OBJ_A, 3 } }, .n_after = 2,
	},
	{
		/* AAAA -> ____ */
		.description = "exactly one mapping",
		.old = { { 0, 4, OBJ_A, 0 } }, .n_old = 1,
		.addr = 0, .range = 4,
		.steps = { { DRM_GPUVA_OP_UNMAP, 0, false } }, .n_steps = 1,
		.n_after = 0,
	},
	{
		/* AA_BB_CC -> A______C */
		.description = "across several mappings and holes",
		.old = { { 0, 2, OBJ_A, 0 }, { 3, 2, OBJ_B, 0 },
			 { 6, 2, OBJ_C, 4 } }, .n_old = 3,
		.addr = 1, .range = 6,
		.steps = { { DRM_GPUVA_OP_REMAP, 0, false,
			     .prev = { 0, 1, 0 } },
			   { DRM_GPUVA_OP_UNMAP, 3, false },
			   { DRM_GPUVA_OP_REMAP, 6, false,
			     .next = { 7, 1, 5 } } }, .n_steps = 3,
		.after = { { 0, 1, OBJ_A, 0 }, { 7, 1, OBJ_C, 5 } },
		.n_after = 2,
	},
	{
		/* AABB -> ____ */
		.description = "exact boundaries of two mappings",
		.old = { { 0, 2, OBJ_A, 0 }, { 2, 2, OBJ_B, 0 } }, .n_old = 2,
		.addr = 0, .range = 4,
		.steps = { { DRM_GPUVA_OP_UNMAP, 0, false },
			   { DRM_GPUVA_OP_UNMAP, 2, false } }, .n_steps = 2,
		.n_after = 0,
	},
	{
		/* AA__BB -> AA__BB */
		.description = "only a hole",
		.old = { { 0, 2, OBJ_A, 0 }, { 4, 2, OBJ_B, 0 } }, .n_old = 2,
		.addr = 2, .range = 2,
		.n_steps = 0,
		.after = { { 0, 2, OBJ_A, 0 }, { 4, 2, OBJ_B, 0 } },
		.n_after = 2,
	},
	{
		/* ---- -> -__- */
		.description = "inside a sparse mapping",
		.old = { { 0, 4, OBJ_NONE, 0 } }, .n_old = 1,
		.addr = 1, .range = 2,
		.steps = { { DRM_GPUVA_OP_REMAP, 0, false,
			     .prev = { 0, 1, 0 }, .next = { 3, 1, 3 } } },
		.n_steps = 1,
		.after = { { 0, 1, OBJ_NONE, 0 }, { 3, 1, OBJ_NONE, 3 } },
		.n_after = 2,
	},
};

KUNIT_ARRAY_PARAM(sm_unmap, sm_unmap_cases, sm_case_desc);

static void drm_test_gpuvm_sm_unmap(struct kunit *test)
{
	const struct sm_case *c = test->param_value;
	struct gpuvm_test *t = test->priv;
	struct recorder r = { .t = t };
	struct drm_gpuva_ops *ops;

	space_build(t, c->old, c->n_old);
	ops = drm_gpuvm_sm_unmap_ops_create(t->gpuvm, c->addr * PG,
					    c->range * PG);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, ops);
	record_ops(&r, ops);
	steps_are(t, &r, c->steps, c->n_steps, false, 0, 0, NULL, 0, false, c,
		  "ops list");
	apply_ops(t, ops);
	drm_gpuva_ops_free(t->gpuvm, ops);
	space_is(t, c->after, c->n_after, NULL, 0, "ops list");
	space_clear(t);

	memset(&r, 0, sizeof(r));
	r.t = t;
	r.apply = true;
	space_build(t, c->old, c->n_old);
	KUNIT_ASSERT_EQ(test, drm_gpuvm_sm_unmap(t->gpuvm, &r, c->addr * PG,
						 c->range * PG), 0);
	steps_are(t, &r, c->steps, c->n_steps, false, 0, 0, NULL, 0, false, c,
		  "callbacks");
	space_is(t, c->after, c->n_after, NULL, 0, "callbacks");
}

/* ---- Lookups and iterators --------------------------------------------- */

/*
 * AA_B   ...   RRRR (reserved node at the top)
 * 0 2 3        1000
 */
static void build_lookup_space(struct gpuvm_test *t)
{
	static const struct pmap m[] = {
		{ 0, 2, OBJ_A, 0 }, { 3, 1, OBJ_B, 0 },
	};

	space_build(t, m, ARRAY_SIZE(m));
}

static void drm_test_gpuvm_find(struct kunit *test)
{
	struct gpuvm_test *t = test->priv;
	struct drm_gpuvm *vm = t->gpuvm;
	struct drm_gpuva *a, *b;

	/* Empty space: nothing but the reserved node. */
	KUNIT_EXPECT_NULL(test, drm_gpuva_find_first(vm, 0, RSV_START * PG));
	KUNIT_EXPECT_TRUE(test, drm_gpuvm_interval_empty(vm, 0, RSV_START * PG));
	KUNIT_EXPECT_FALSE(test, drm_gpuvm_interval_empty(vm, 0, SPACE_PAGES * PG));
	KUNIT_EXPECT_PTR_EQ(test, drm_gpuva_find_first(vm, 0, SPACE_PAGES * PG),
			    &vm->kernel_alloc_node);

	build_lookup_space(t);
	a = drm_gpuva_find(vm, 0, 2 * PG);
	b = drm_gpuva_find(vm, 3 * PG, PG);
	KUNIT_ASSERT_NOT_NULL(test, a);
	KUNIT_ASSERT_NOT_NULL(test, b);
	KUNIT_EXPECT_PTR_EQ(test, a->gem.obj, &t->objs[OBJ_A]);
	KUNIT_EXPECT_PTR_EQ(test, b->gem.obj, &t->objs[OBJ_B]);
	KUNIT_EXPECT_PTR_EQ(test, a->vm, vm);

	/* find: exact interval only. */
	KUNIT_EXPECT_NULL(test, drm_gpuva_find(vm, 0, PG));
	KUNIT_EXPECT_NULL(test, drm_gpuva_find(vm, PG, PG));
	KUNIT_EXPECT_NULL(test, drm_gpuva_find(vm, 0, 3 * PG));

	/* find_first: lowest overlapping, last byte and first byte. */
	KUNIT_EXPECT_PTR_EQ(test, drm_gpuva_find_first(vm, 0, 1), a);
	KUNIT_EXPECT_PTR_EQ(test, drm_gpuva_find_first(vm, 2 * PG - 1, 1), a);
	KUNIT_EXPECT_NULL(test, drm_gpuva_find_first(vm, 2 * PG, PG));
	KUNIT_EXPECT_PTR_EQ(test, drm_gpuva_find_first(vm, 2 * PG, PG + 1), b);
	KUNIT_EXPECT_PTR_EQ(test, drm_gpuva_find_first(vm, PG, 10 * PG), a);
	KUNIT_EXPECT_NULL(test, drm_gpuva_find_first(vm, 4 * PG, 996 * PG));
	KUNIT_EXPECT_NULL(test, drm_gpuva_find_first(vm, U64_MAX, 2));

	/* find_prev/find_next of touching neighbours (gaps: differences). */
	KUNIT_EXPECT_PTR_EQ(test, drm_gpuva_find_prev(vm, 2 * PG), a);
	KUNIT_EXPECT_PTR_EQ(test, drm_gpuva_find_prev(vm, 4 * PG), b);
	KUNIT_EXPECT_NULL(test, drm_gpuva_find_prev(vm, 0));
	KUNIT_EXPECT_PTR_EQ(test, drm_gpuva_find_next(vm, 0), a);
	KUNIT_EXPECT_PTR_EQ(test, drm_gpuva_find_next(vm, 3 * PG), b);
	KUNIT_EXPECT_NULL(test, drm_gpuva_find_next(vm, 2 * PG));
	KUNIT_EXPECT_NULL(test, drm_gpuva_find_next(vm, 4 * PG));
	KUNIT_EXPECT_NULL(test, drm_gpuva_find_next(vm, RSV_END * PG));
	KUNIT_EXPECT_NULL(test, drm_gpuva_find_next(vm, U64_MAX));

	KUNIT_EXPECT_TRUE(test, drm_gpuvm_interval_empty(vm, 2 * PG, PG));
	KUNIT_EXPECT_FALSE(test, drm_gpuvm_interval_empty(vm, 2 * PG, PG + 1));
}

static void drm_test_gpuvm_iterators(struct kunit *test)
{
	static const struct pmap m[] = {
		{ 0, 1, OBJ_A, 0 }, { 1, 1, OBJ_B, 0 }, { 5, 2, OBJ_A, 5 },
		{ 9, 1, OBJ_C, 0 },
	};
	struct gpuvm_test *t = test->priv;
	struct drm_gpuva *va, *next;
	u64 seen[8];
	int n;

	n = 0;
	drm_gpuvm_for_each_va(va, t->gpuvm)
		n++;
	KUNIT_EXPECT_EQ(test, n, 1);	/* the reserved node */

	space_build(t, m, ARRAY_SIZE(m));

	n = 0;
	drm_gpuvm_for_each_va(va, t->gpuvm)
		if (n < 8)
			seen[n++] = va->va.addr / PG;
	KUNIT_ASSERT_EQ(test, n, 5);
	KUNIT_EXPECT_EQ(test, seen[0], 0);
	KUNIT_EXPECT_EQ(test, seen[1], 1);
	KUNIT_EXPECT_EQ(test, seen[2], 5);
	KUNIT_EXPECT_EQ(test, seen[3], 9);
	KUNIT_EXPECT_EQ(test, seen[4], RSV_START);

	/* Range: [1, 6) overlaps the mappings at 1 and 5. */
	n = 0;
	drm_gpuvm_for_each_va_range(va, t->gpuvm, PG, 6 * PG)
		if (n < 8)
			seen[n++] = va->va.addr / PG;
	KUNIT_ASSERT_EQ(test, n, 2);
	KUNIT_EXPECT_EQ(test, seen[0], 1);
	KUNIT_EXPECT_EQ(test, seen[1], 5);

	/* Range ending exactly where a mapping starts does not include it. */
	n = 0;
	drm_gpuvm_for_each_va_range(va, t->gpuvm, 2 * PG, 5 * PG)
		n++;
	KUNIT_EXPECT_EQ(test, n, 0);

	/* Safe range walk removing every entry it visits. */
	n = 0;
	drm_gpuvm_for_each_va_range_safe(va, next, t->gpuvm, 0, 7 * PG) {
		drm_gpuva_remove(va);
		va_free(t, va);
		n++;
	}
	KUNIT_EXPECT_EQ(test, n, 3);
	KUNIT_EXPECT_PTR_EQ(test, drm_gpuva_find_first(t->gpuvm, 0, 100 * PG),
			    drm_gpuva_find(t->gpuvm, 9 * PG, PG));
}

/* ---- Bad input ---------------------------------------------------------- */

struct bad_case {
	const char *description;
	u64 addr;
	u64 range;
};

static const struct bad_case bad_cases[] = {
	{ "u64 overflow", U64_MAX - PG + 1, 2 * PG },
	{ "wrapping to zero", U64_MAX - PG + 1, PG },
	{ "beyond the space", (SPACE_PAGES + 1) * PG, PG },
	{ "straddling the end", (SPACE_PAGES - 1) * PG, 2 * PG },
	{ "inside the reserved node", (RSV_START + 1) * PG, PG },
	{ "overlapping the reserved node", (RSV_START - 1) * PG, 2 * PG },
	{ "covering everything", 0, SPACE_PAGES * PG },
};

static void bad_case_desc(const struct bad_case *c, char *desc)
{
	strscpy(desc, c->description, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(bad_input, bad_cases, bad_case_desc);

static void drm_test_gpuvm_bad_input(struct kunit *test)
{
	static const struct pmap m[] = {
		{ 0, 4, OBJ_A, 0 }, { 998, 2, OBJ_B, 0 },
	};
	const struct bad_case *c = test->param_value;
	struct gpuvm_test *t = test->priv;
	struct recorder r = { .t = t };
	struct drm_gpuva_ops *ops;
	struct drm_gpuva *va;

	space_build(t, m, ARRAY_SIZE(m));

	KUNIT_EXPECT_FALSE(test, drm_gpuvm_range_valid(t->gpuvm, c->addr,
						       c->range));

	va = va_new(t);
	va->va.addr = c->addr;
	va->va.range = c->range;
	KUNIT_EXPECT_EQ(test, drm_gpuva_insert(t->gpuvm, va), -EINVAL);
	va_free(t, va);

	ops = drm_gpuvm_sm_map_ops_create(t->gpuvm, c->addr, c->range,
					  &t->objs[OBJ_A], 0);
	KUNIT_EXPECT_PTR_EQ(test, ops, ERR_PTR(-EINVAL));
	ops = drm_gpuvm_sm_unmap_ops_create(t->gpuvm, c->addr, c->range);
	KUNIT_EXPECT_PTR_EQ(test, ops, ERR_PTR(-EINVAL));
	KUNIT_EXPECT_EQ(test, drm_gpuvm_sm_map(t->gpuvm, &r, c->addr, c->range,
					       &t->objs[OBJ_A], 0), -EINVAL);
	KUNIT_EXPECT_EQ(test, drm_gpuvm_sm_unmap(t->gpuvm, &r, c->addr,
						 c->range), -EINVAL);

	KUNIT_EXPECT_EQ(test, r.n, 0);
	KUNIT_EXPECT_EQ(test, t->op_allocs, 0);
	space_is(t, m, ARRAY_SIZE(m), NULL, 0, "after bad input");
}

static void drm_test_gpuvm_insert_overlap(struct kunit *test)
{
	static const struct pmap m[] = { { 4, 4, OBJ_A, 0 } };
	static const struct pmap clash[] = {
		{ 4, 4 }, { 3, 2 }, { 7, 2 }, { 5, 1 }, { 0, 10 },
	};
	struct gpuvm_test *t = test->priv;
	struct drm_gpuva *va;
	int i;

	space_build(t, m, ARRAY_SIZE(m));
	for (i = 0; i < ARRAY_SIZE(clash); i++) {
		va = va_new(t);
		va->va.addr = clash[i].addr * PG;
		va->va.range = clash[i].range * PG;
		KUNIT_EXPECT_EQ_MSG(test, drm_gpuva_insert(t->gpuvm, va),
				    -EEXIST, "clash %d", i);
		va_free(t, va);
	}
	space_is(t, m, ARRAY_SIZE(m), NULL, 0, "after clashes");

	/* Touching on both sides is fine. */
	va = va_new(t);
	va->va.addr = 0;
	va->va.range = 4 * PG;
	KUNIT_EXPECT_EQ(test, drm_gpuva_insert(t->gpuvm, va), 0);
	va = va_new(t);
	va->va.addr = 8 * PG;
	va->va.range = 4 * PG;
	KUNIT_EXPECT_EQ(test, drm_gpuva_insert(t->gpuvm, va), 0);
}

static void drm_test_gpuvm_reserved_node(struct kunit *test)
{
	struct gpuvm_test *t = test->priv;
	struct drm_gpuva *kva = &t->gpuvm->kernel_alloc_node;

	KUNIT_EXPECT_EQ(test, kva->va.addr, RSV_START * PG);
	KUNIT_EXPECT_EQ(test, kva->va.range, (RSV_END - RSV_START) * PG);
	KUNIT_EXPECT_PTR_EQ(test, drm_gpuva_find(t->gpuvm, RSV_START * PG,
						 (RSV_END - RSV_START) * PG),
			    kva);

	/* Removing it is a driver bug: it warns and stays. */
	kunit_info(test, "expect-warning: removing the reserved node\n");
	drm_gpuva_remove(kva);
	KUNIT_EXPECT_PTR_EQ(test, drm_gpuva_find_first(t->gpuvm,
						       RSV_START * PG, PG),
			    kva);
}

/* ---- Allocation failure ------------------------------------------------- */

/*
 * AA_BBBB_CC and a map over [1, 9): REMAP, UNMAP, REMAP, MAP, i.e. four
 * op allocations; every one of them fails in turn.
 */
static void drm_test_gpuvm_op_alloc_failure(struct kunit *test)
{
	static const struct pmap m[] = {
		{ 0, 2, OBJ_A, 0 }, { 3, 4, OBJ_B, 0 }, { 8, 2, OBJ_C, 0 },
	};
	struct gpuvm_test *t = test->priv;
	struct drm_gpuva_ops *ops;
	int n, total;

	space_build(t, m, ARRAY_SIZE(m));

	/* First count the allocations of a successful run. */
	ops = drm_gpuvm_sm_map_ops_create(t->gpuvm, PG, 8 * PG,
					  &t->objs[OBJ_A], 0);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, ops);
	total = t->op_allocs;
	KUNIT_EXPECT_EQ(test, total, 4);
	drm_gpuva_ops_free(t->gpuvm, ops);

	for (n = 1; n <= total; n++) {
		t->op_allocs = 0;
		t->fail_op_alloc_at = n;
		ops = drm_gpuvm_sm_map_ops_create(t->gpuvm, PG, 8 * PG,
						  &t->objs[OBJ_A], 0);
		KUNIT_EXPECT_PTR_EQ_MSG(test, ops, ERR_PTR(-ENOMEM),
					"map, failing alloc %d", n);
		KUNIT_EXPECT_EQ_MSG(test, t->ops_live, 0,
				    "map, failing alloc %d", n);

		t->op_allocs = 0;
		ops = drm_gpuvm_sm_unmap_ops_create(t->gpuvm, PG, 8 * PG);
		if (n <= 3) {
			KUNIT_EXPECT_PTR_EQ_MSG(test, ops, ERR_PTR(-ENOMEM),
						"unmap, failing alloc %d", n);
		} else {
			KUNIT_EXPECT_FALSE(test, IS_ERR_OR_NULL(ops));
			drm_gpuva_ops_free(t->gpuvm, ops);
		}
		KUNIT_EXPECT_EQ(test, t->ops_live, 0);

		t->op_allocs = 0;
		ops = drm_gpuvm_prefetch_ops_create(t->gpuvm, 0, 10 * PG);
		if (n <= 3) {
			KUNIT_EXPECT_PTR_EQ_MSG(test, ops, ERR_PTR(-ENOMEM),
						"prefetch, failing alloc %d", n);
		} else {
			KUNIT_EXPECT_FALSE(test, IS_ERR_OR_NULL(ops));
			drm_gpuva_ops_free(t->gpuvm, ops);
		}
		KUNIT_EXPECT_EQ(test, t->ops_live, 0);

		space_is(t, m, ARRAY_SIZE(m), NULL, 0, "after failure");
	}
	t->fail_op_alloc_at = 0;
}

/* The planners whose allocations the next test fails one by one. */
enum planner { PLAN_MAP, PLAN_UNMAP, PLAN_PREFETCH, PLAN_BO_UNMAP };

struct alloc_case {
	const char *name;
	enum planner plan;
	bool driver_allocs;	/* the VM has op_alloc and vm_bo_alloc */
	bool fail_op_alloc;	/* fail op_alloc, not the library's allocator */
	int allocs;		/* allocations of a successful run */
};

/*
 * Over A [0, 4) B [4, 8) A [8, 12) (pages): mapping D at [2, 10) or
 * unmapping it makes two REMAPs and one UNMAP (plus the MAP), prefetching
 * [0, 12) three steps, unmapping A's vm_bo two. The library allocates the
 * list head, one piece block per REMAP, and the ops when the driver has
 * no op_alloc.
 */
static const struct alloc_case alloc_cases[] = {
	{ "map, driver op_alloc", PLAN_MAP, true, false, 3 },
	{ "map, library only", PLAN_MAP, false, false, 7 },
	{ "unmap, driver op_alloc", PLAN_UNMAP, true, false, 3 },
	{ "unmap, library only", PLAN_UNMAP, false, false, 6 },
	{ "prefetch, library only", PLAN_PREFETCH, false, false, 4 },
	{ "bo_unmap, library only", PLAN_BO_UNMAP, false, false, 3 },
	{ "bo_unmap, failing op_alloc", PLAN_BO_UNMAP, true, true, 2 },
};

static void alloc_case_desc(const struct alloc_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(alloc, alloc_cases, alloc_case_desc);

static struct drm_gpuva_ops *plan_make(struct gpuvm_test *t, enum planner p,
				       struct drm_gpuvm_bo *vm_bo)
{
	switch (p) {
	case PLAN_MAP:
		return drm_gpuvm_sm_map_ops_create(t->gpuvm, 2 * PG, 8 * PG,
						   &t->objs[OBJ_D], 0);
	case PLAN_UNMAP:
		return drm_gpuvm_sm_unmap_ops_create(t->gpuvm, 2 * PG, 8 * PG);
	case PLAN_PREFETCH:
		return drm_gpuvm_prefetch_ops_create(t->gpuvm, 0, 12 * PG);
	default:
		return drm_gpuvm_bo_unmap_ops_create(vm_bo);
	}
}

static int plan_allocs(struct gpuvm_test *t, const struct alloc_case *c)
{
	return c->fail_op_alloc ? t->op_allocs : atomic_read(&t->mem_allocs);
}

/*
 * Fails each allocation of a planner in turn: -ENOMEM, every allocation
 * given back, the space unchanged.
 */
static void drm_test_gpuvm_alloc_failure(struct kunit *test)
{
	static const struct pmap m[] = {
		{ 0, 4, OBJ_A, 0 }, { 4, 4, OBJ_B, 0 }, { 8, 4, OBJ_A, 8 },
	};
	const struct alloc_case *c = test->param_value;
	struct gpuvm_test *t = test->priv;
	struct drm_gem_object *a = &t->objs[OBJ_A];
	struct drm_gpuva_ops *ops;
	struct drm_gpuvm_bo *bo_a;
	struct drm_gpuva *va;
	int n, total, mem;

	if (!c->driver_allocs)
		vm_replace(t, 0, &bare_ops);
	space_build(t, m, ARRAY_SIZE(m));

	dma_resv_lock(a->resv, NULL);
	bo_a = drm_gpuvm_bo_obtain(t->gpuvm, a);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, bo_a);
	drm_gpuvm_for_each_va(va, t->gpuvm)
		if (va->gem.obj == a)
			drm_gpuva_link(va, bo_a);
	mem = atomic_read(&t->mem_live);

	t->op_allocs = 0;
	atomic_set(&t->mem_allocs, 0);
	ops = plan_make(t, c->plan, bo_a);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, ops);
	total = plan_allocs(t, c);
	KUNIT_EXPECT_EQ(test, total, c->allocs);
	drm_gpuva_ops_free(t->gpuvm, ops);
	KUNIT_EXPECT_EQ(test, atomic_read(&t->mem_live), mem);

	for (n = 1; n <= total; n++) {
		t->op_allocs = 0;
		atomic_set(&t->mem_allocs, 0);
		if (c->fail_op_alloc)
			t->fail_op_alloc_at = n;
		else
			t->fail_mem_at = n;
		ops = plan_make(t, c->plan, bo_a);
		t->fail_op_alloc_at = 0;
		t->fail_mem_at = 0;

		KUNIT_EXPECT_PTR_EQ_MSG(test, ops, ERR_PTR(-ENOMEM),
					"failing allocation %d", n);
		KUNIT_EXPECT_EQ_MSG(test, plan_allocs(t, c), n,
				    "failing allocation %d", n);
		KUNIT_EXPECT_EQ_MSG(test, atomic_read(&t->mem_live), mem,
				    "failing allocation %d", n);
		KUNIT_EXPECT_EQ_MSG(test, t->ops_live, 0,
				    "failing allocation %d", n);
		space_is(t, m, ARRAY_SIZE(m), NULL, 0, "after failure");
	}

	drm_gpuvm_for_each_va(va, t->gpuvm)
		drm_gpuva_unlink(va);
	KUNIT_EXPECT_TRUE(test, drm_gpuvm_bo_put(bo_a));
	dma_resv_unlock(a->resv);
}

/* A callback error stops the walk and is returned. */
static void drm_test_gpuvm_callback_error(struct kunit *test)
{
	static const struct pmap m[] = {
		{ 0, 2, OBJ_A, 0 }, { 3, 4, OBJ_B, 0 }, { 8, 2, OBJ_C, 0 },
	};
	struct gpuvm_test *t = test->priv;
	struct recorder r = { .t = t, .fail_at = 2 };

	space_build(t, m, ARRAY_SIZE(m));
	KUNIT_EXPECT_EQ(test, drm_gpuvm_sm_map(t->gpuvm, &r, PG, 8 * PG,
					       &t->objs[OBJ_A], 0), -EIO);
	KUNIT_EXPECT_EQ(test, r.n, 2);
	space_is(t, m, ARRAY_SIZE(m), NULL, 0, "after callback error");
}

static void drm_test_gpuvm_prefetch(struct kunit *test)
{
	static const struct pmap m[] = {
		{ 0, 2, OBJ_A, 0 }, { 3, 4, OBJ_B, 0 }, { 8, 2, OBJ_C, 0 },
	};
	struct gpuvm_test *t = test->priv;
	struct recorder r = { .t = t };
	struct drm_gpuva_ops *ops;

	space_build(t, m, ARRAY_SIZE(m));
	ops = drm_gpuvm_prefetch_ops_create(t->gpuvm, PG, 7 * PG);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, ops);
	record_ops(&r, ops);
	drm_gpuva_ops_free(t->gpuvm, ops);
	KUNIT_ASSERT_EQ(test, r.n, 2);
	KUNIT_EXPECT_EQ(test, r.steps[0].type, DRM_GPUVA_OP_PREFETCH);
	KUNIT_EXPECT_EQ(test, r.steps[0].va_addr, 0);
	KUNIT_EXPECT_EQ(test, r.steps[1].type, DRM_GPUVA_OP_PREFETCH);
	KUNIT_EXPECT_EQ(test, r.steps[1].va_addr, 3 * PG);

	ops = drm_gpuvm_prefetch_ops_create(t->gpuvm, 2 * PG, PG);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, ops);
	KUNIT_EXPECT_TRUE(test, list_empty(&ops->list));
	drm_gpuva_ops_free(t->gpuvm, ops);
}

static void drm_test_gpuvm_remap_to_unmap_range(struct kunit *test)
{
	struct drm_gpuva va = { .va.addr = 0x1000, .va.range = 0x8000 };
	struct drm_gpuva_op_map prev = { .va.addr = 0x1000, .va.range = 0x2000 };
	struct drm_gpuva_op_map next = { .va.addr = 0x6000, .va.range = 0x3000 };
	struct drm_gpuva_op_unmap unmap = { .va = &va };
	struct drm_gpuva_op_remap op = { .unmap = &unmap };
	u64 start, range;

	op.prev = &prev;
	op.next = &next;
	drm_gpuva_op_remap_to_unmap_range(&op, &start, &range);
	KUNIT_EXPECT_EQ(test, start, 0x3000);
	KUNIT_EXPECT_EQ(test, range, 0x3000);

	op.prev = NULL;
	drm_gpuva_op_remap_to_unmap_range(&op, &start, &range);
	KUNIT_EXPECT_EQ(test, start, 0x1000);
	KUNIT_EXPECT_EQ(test, range, 0x5000);

	op.next = NULL;
	op.prev = &prev;
	drm_gpuva_op_remap_to_unmap_range(&op, &start, &range);
	KUNIT_EXPECT_EQ(test, start, 0x3000);
	KUNIT_EXPECT_EQ(test, range, 0x6000);
}

/* ---- Randomised test against a per-page model --------------------------- */

#define RND_PAGES 48
#define RND_STEPS 3000
#define RND_SEED 0x6a09e667f3bcc908ull

struct page_model {
	int obj;	/* OBJ_NONE for sparse, -1 for unmapped */
	u64 offset;	/* object page of this address */
};

static bool model_matches(struct gpuvm_test *t, struct drm_gpuvm *gpuvm,
			  const struct page_model *pm, u64 seed, int step)
{
	struct drm_gpuva *va;
	bool covered[RND_PAGES] = {};
	u64 p;

	drm_gpuvm_for_each_va(va, gpuvm) {
		u64 first = va->va.addr / PG, n = va->va.range / PG;
		int obj = va->gem.obj ? va->gem.obj - t->objs : OBJ_NONE;

		if (va == &gpuvm->kernel_alloc_node)
			continue;
		for (p = first; p < first + n; p++) {
			if (p >= RND_PAGES || covered[p] || pm[p].obj != obj ||
			    pm[p].offset != va->gem.offset / PG + (p - first)) {
				KUNIT_FAIL(t->test,
					   "seed %#llx step %d: page %llu disagrees with the model",
					   seed, step, p);
				return false;
			}
			covered[p] = true;
		}
	}
	for (p = 0; p < RND_PAGES; p++) {
		if (!covered[p] && pm[p].obj != -1) {
			KUNIT_FAIL(t->test,
				   "seed %#llx step %d: page %llu lost its mapping",
				   seed, step, p);
			return false;
		}
	}
	return true;
}

/* The keep rule, checked page by page against the model. */
static bool keep_expected(struct gpuvm_test *t, const struct page_model *pm,
			  const struct drm_gpuva *va, u64 addr, u64 n,
			  int obj, u64 offset)
{
	u64 first = va->va.addr / PG, last = first + va->va.range / PG, p;

	if (obj == OBJ_NONE || !va->gem.obj || va->gem.obj != obj_of(t, obj))
		return false;
	for (p = max(first, addr); p < min(last, addr + n); p++)
		if (pm[p].offset != offset + (p - addr))
			return false;
	return true;
}

static void drm_test_gpuvm_random(struct kunit *test)
{
	struct gpuvm_test *t = test->priv;
	struct page_model pm[RND_PAGES];
	struct rnd_state rnd;
	int step, i;

	for (i = 0; i < RND_PAGES; i++)
		pm[i].obj = -1;
	prandom_seed_state(&rnd, RND_SEED);

	for (step = 0; step < RND_STEPS; step++) {
		u64 addr = prandom_u32_state(&rnd) % RND_PAGES;
		u64 n = 1 + prandom_u32_state(&rnd) % min_t(u64, 12, RND_PAGES - addr);
		bool map = prandom_u32_state(&rnd) % 3;
		int obj = prandom_u32_state(&rnd) % OBJ_COUNT;
		u64 offset = prandom_u32_state(&rnd) % 4;
		struct drm_gpuva_ops *ops;
		struct drm_gpuva_op *op;
		u64 p;

		if (map)
			ops = drm_gpuvm_sm_map_ops_create(t->gpuvm, addr * PG,
							  n * PG,
							  obj_of(t, obj),
							  offset * PG);
		else
			ops = drm_gpuvm_sm_unmap_ops_create(t->gpuvm, addr * PG,
							    n * PG);
		KUNIT_ASSERT_NOT_ERR_OR_NULL_MSG(test, ops, "seed %#llx step %d",
						 RND_SEED, step);

		/* Check every keep flag against the model before applying. */
		drm_gpuva_for_each_op(op, ops) {
			const struct drm_gpuva_op_unmap *u = NULL;

			if (op->op == DRM_GPUVA_OP_UNMAP)
				u = &op->unmap;
			else if (op->op == DRM_GPUVA_OP_REMAP)
				u = op->remap.unmap;
			if (!u)
				continue;
			KUNIT_ASSERT_EQ_MSG(test, u->keep,
					    map && keep_expected(t, pm, u->va, addr,
								 n, obj, offset),
					    "seed %#llx step %d: keep", RND_SEED,
					    step);
		}
		apply_ops(t, ops);
		drm_gpuva_ops_free(t->gpuvm, ops);

		for (p = addr; p < addr + n; p++) {
			pm[p].obj = map ? obj : -1;
			pm[p].offset = offset + (p - addr);
		}
		if (!model_matches(t, t->gpuvm, pm, RND_SEED, step))
			return;
	}
	KUNIT_EXPECT_EQ(test, t->ops_live, 0);
}

/* ---- vm_bo, GEM links, external and evicted objects -------------------- */

static unsigned int gem_refs(struct drm_gem_object *obj)
{
	return kref_read(&obj->refcount);
}

static int count_list(struct list_head *head)
{
	struct list_head *pos;
	int n = 0;

	list_for_each(pos, head)
		n++;
	return n;
}

/*
 * Locks several GEM objects the way a driver must: in one drm_exec. It
 * ignores duplicates, so that a test may prepare the VM's objects in it
 * again (prepare_list()).
 */
static void lock_objs(struct kunit *test, struct drm_exec *exec,
		      struct drm_gem_object **objs, unsigned int n)
{
	int ret = 0;

	drm_exec_init(exec, DRM_EXEC_IGNORE_DUPLICATES, 0);
	drm_exec_until_all_locked(exec) {
		ret = drm_exec_prepare_array(exec, objs, n, 1);
		drm_exec_retry_on_contention(exec);
	}
	KUNIT_ASSERT_EQ(test, ret, 0);
}

/*
 * drm_gpuvm_prepare_objects() in an exec from lock_objs(), which already
 * holds everything: in resv-protected mode this is where an evicted
 * external object joins the evicted list, as it does in a driver's
 * drm_gpuvm_exec_lock() before validation.
 */
static void prepare_list(struct kunit *test, struct drm_gpuvm *gpuvm,
			 struct drm_exec *exec)
{
	KUNIT_ASSERT_EQ(test, drm_gpuvm_prepare_objects(gpuvm, exec, 1), 0);
}

/*
 * Obtains the vm_bo of @obj in the fixture's VM and lists it as external,
 * holding the locks either locking mode wants: the VM's resv and @obj's.
 */
static struct drm_gpuvm_bo *ext_bo_get(struct gpuvm_test *t,
				       struct drm_gem_object *obj)
{
	struct drm_gem_object *objs[2] = { t->r_obj, obj };
	struct drm_gpuvm_bo *vm_bo;
	struct drm_exec exec;

	lock_objs(t->test, &exec, objs, 2);
	vm_bo = drm_gpuvm_bo_obtain(t->gpuvm, obj);
	if (!IS_ERR(vm_bo))
		drm_gpuvm_bo_extobj_add(vm_bo);
	drm_exec_fini(&exec);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(t->test, vm_bo);
	return vm_bo;
}

/* Drops a reference taken by ext_bo_get() under the same locks. */
static bool ext_bo_put(struct gpuvm_test *t, struct drm_gpuvm_bo *vm_bo)
{
	struct drm_gem_object *objs[2] = { t->r_obj, vm_bo->obj };
	struct drm_exec exec;
	bool freed;

	lock_objs(t->test, &exec, objs, 2);
	freed = drm_gpuvm_bo_put(vm_bo);
	drm_exec_fini(&exec);
	return freed;
}

static void drm_test_gpuvm_bo_obtain(struct kunit *test)
{
	struct gpuvm_test *t = test->priv;
	struct drm_gem_object *a = &t->objs[OBJ_A];
	struct drm_gpuvm_bo *vm_bo, *again;
	unsigned int vm_refs = kref_read(&t->gpuvm->kref);
	unsigned int a_refs = gem_refs(a);

	dma_resv_lock(a->resv, NULL);
	KUNIT_EXPECT_NULL(test, drm_gpuvm_bo_find(t->gpuvm, a));
	vm_bo = drm_gpuvm_bo_obtain(t->gpuvm, a);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, vm_bo);
	again = drm_gpuvm_bo_obtain(t->gpuvm, a);
	KUNIT_EXPECT_PTR_EQ(test, again, vm_bo);
	KUNIT_EXPECT_EQ(test, kref_read(&vm_bo->kref), 2);
	KUNIT_EXPECT_EQ(test, t->vm_bos_live, 1);
	KUNIT_EXPECT_EQ(test, count_list(&a->gpuva.list), 1);
	KUNIT_EXPECT_PTR_EQ(test, vm_bo->vm, t->gpuvm);
	KUNIT_EXPECT_PTR_EQ(test, vm_bo->obj, a);
	KUNIT_EXPECT_EQ(test, kref_read(&t->gpuvm->kref), vm_refs + 1);
	KUNIT_EXPECT_EQ(test, gem_refs(a), a_refs + 1);

	KUNIT_EXPECT_FALSE(test, drm_gpuvm_bo_put(again));
	KUNIT_EXPECT_TRUE(test, drm_gpuvm_bo_put(vm_bo));
	KUNIT_EXPECT_EQ(test, t->vm_bos_live, 0);
	KUNIT_EXPECT_TRUE(test, list_empty(&a->gpuva.list));
	KUNIT_EXPECT_EQ(test, kref_read(&t->gpuvm->kref), vm_refs);
	KUNIT_EXPECT_EQ(test, gem_refs(a), a_refs);
	KUNIT_EXPECT_FALSE(test, drm_gpuvm_bo_put(NULL));

	/* Allocation failure: ERR_PTR, nothing listed, nothing held. */
	t->vm_bo_allocs = 0;
	t->fail_vm_bo_alloc_at = 1;
	vm_bo = drm_gpuvm_bo_obtain(t->gpuvm, a);
	KUNIT_EXPECT_PTR_EQ(test, vm_bo, ERR_PTR(-ENOMEM));
	KUNIT_EXPECT_TRUE(test, list_empty(&a->gpuva.list));
	KUNIT_EXPECT_EQ(test, gem_refs(a), a_refs);
	KUNIT_EXPECT_EQ(test, kref_read(&t->gpuvm->kref), vm_refs);
	t->fail_vm_bo_alloc_at = 0;
	dma_resv_unlock(a->resv);
}

/* Without vm_bo_alloc the library allocates; failing that changes nothing. */
static void drm_test_gpuvm_bo_library_alloc(struct kunit *test)
{
	struct gpuvm_test *t = test->priv;
	struct drm_gem_object *a = &t->objs[OBJ_A];
	unsigned int a_refs = gem_refs(a);
	struct drm_gpuvm_bo *vm_bo;
	unsigned int vm_refs;

	vm_replace(t, 0, &bare_ops);
	vm_refs = kref_read(&t->gpuvm->kref);

	dma_resv_lock(a->resv, NULL);
	atomic_set(&t->mem_allocs, 0);
	t->fail_mem_at = 1;
	KUNIT_EXPECT_PTR_EQ(test, drm_gpuvm_bo_obtain(t->gpuvm, a),
			    ERR_PTR(-ENOMEM));
	atomic_set(&t->mem_allocs, 0);
	KUNIT_EXPECT_NULL(test, drm_gpuvm_bo_create(t->gpuvm, a));
	atomic_set(&t->mem_allocs, 0);
	KUNIT_EXPECT_NULL(test, drm_gpuvm_resv_object_alloc(t->drm));
	t->fail_mem_at = 0;
	KUNIT_EXPECT_TRUE(test, list_empty(&a->gpuva.list));
	KUNIT_EXPECT_EQ(test, gem_refs(a), a_refs);
	KUNIT_EXPECT_EQ(test, kref_read(&t->gpuvm->kref), vm_refs);
	KUNIT_EXPECT_EQ(test, atomic_read(&t->mem_live), 1);	/* r_obj */

	vm_bo = drm_gpuvm_bo_obtain(t->gpuvm, a);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, vm_bo);
	KUNIT_EXPECT_EQ(test, atomic_read(&t->mem_live), 2);
	KUNIT_EXPECT_TRUE(test, drm_gpuvm_bo_put(vm_bo));
	KUNIT_EXPECT_EQ(test, atomic_read(&t->mem_live), 1);
	dma_resv_unlock(a->resv);
}

static void drm_test_gpuvm_bo_obtain_prealloc(struct kunit *test)
{
	struct gpuvm_test *t = test->priv;
	struct drm_gem_object *a = &t->objs[OBJ_A];
	struct drm_gpuvm_bo *pre, *vm_bo, *got;
	struct drm_gem_object *objs[2] = { t->r_obj, a };
	struct drm_exec exec;

	/* Not found: the preallocated one is used. */
	pre = drm_gpuvm_bo_create(t->gpuvm, a);
	KUNIT_ASSERT_NOT_NULL(test, pre);
	KUNIT_EXPECT_TRUE(test, list_empty(&a->gpuva.list));
	lock_objs(test, &exec, objs, 2);
	vm_bo = drm_gpuvm_bo_obtain_prealloc(pre);
	KUNIT_EXPECT_PTR_EQ(test, vm_bo, pre);
	KUNIT_EXPECT_EQ(test, count_list(&a->gpuva.list), 1);

	/* Found: the preallocated one is freed, the existing one returned. */
	pre = drm_gpuvm_bo_create(t->gpuvm, a);
	KUNIT_ASSERT_NOT_NULL(test, pre);
	KUNIT_EXPECT_EQ(test, t->vm_bos_live, 2);
	got = drm_gpuvm_bo_obtain_prealloc(pre);
	KUNIT_EXPECT_PTR_EQ(test, got, vm_bo);
	KUNIT_EXPECT_EQ(test, t->vm_bos_live, 1);
	KUNIT_EXPECT_EQ(test, kref_read(&vm_bo->kref), 2);
	KUNIT_EXPECT_EQ(test, count_list(&a->gpuva.list), 1);

	drm_gpuvm_bo_put(got);
	KUNIT_EXPECT_TRUE(test, drm_gpuvm_bo_put(vm_bo));
	drm_exec_fini(&exec);
	KUNIT_EXPECT_EQ(test, t->vm_bos_live, 0);
}

/* The VM outlives its vm_bos: its last reference can be a vm_bo's. */
static void drm_test_gpuvm_bo_holds_vm(struct kunit *test)
{
	struct gpuvm_test *t = test->priv;
	struct drm_gem_object *a = &t->objs[OBJ_A];
	struct drm_gpuvm_bo *vm_bo;

	dma_resv_lock(a->resv, NULL);
	vm_bo = drm_gpuvm_bo_obtain(t->gpuvm, a);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, vm_bo);
	drm_gpuvm_put(t->gpuvm);
	KUNIT_EXPECT_FALSE(test, t->vm_freed);
	KUNIT_EXPECT_TRUE(test, drm_gpuvm_bo_put(vm_bo));
	KUNIT_EXPECT_TRUE(test, t->vm_freed);
	dma_resv_unlock(a->resv);
	t->gpuvm = NULL;
}

/*
 * Map A over [0, 4), then B over [1, 3) (a REMAP of A), then unmap
 * [0, 4): each GEM object's vm_bo list and each vm_bo's mappings follow.
 */
static void apply_linked(struct gpuvm_test *t, struct drm_gpuva_ops *ops,
			 struct drm_gpuvm_bo *map_bo)
{
	struct drm_gpuva_op *op;
	struct drm_gpuva *va, *prev, *next;

	drm_gpuva_for_each_op(op, ops) {
		switch (op->op) {
		case DRM_GPUVA_OP_MAP:
			va = va_new(t);
			drm_gpuva_map(t->gpuvm, va, &op->map);
			drm_gpuva_link(va, map_bo);
			break;
		case DRM_GPUVA_OP_REMAP:
			va = op->remap.unmap->va;
			prev = op->remap.prev ? va_new(t) : NULL;
			next = op->remap.next ? va_new(t) : NULL;
			drm_gpuva_remap(prev, next, &op->remap);
			if (prev)
				drm_gpuva_link(prev, va->vm_bo);
			if (next)
				drm_gpuva_link(next, va->vm_bo);
			drm_gpuva_unlink(va);
			va_free(t, va);
			break;
		case DRM_GPUVA_OP_UNMAP:
			va = op->unmap.va;
			drm_gpuva_unmap(&op->unmap);
			drm_gpuva_unlink(va);
			va_free(t, va);
			break;
		default:
			break;
		}
	}
}

static void drm_test_gpuvm_link_flow(struct kunit *test)
{
	struct gpuvm_test *t = test->priv;
	struct drm_gem_object *a = &t->objs[OBJ_A], *b = &t->objs[OBJ_B];
	struct drm_gpuvm_bo *bo_a, *bo_b;
	struct drm_gpuva_ops *ops;
	struct drm_gem_object *objs[2] = { a, b };
	struct drm_gpuva *va;
	struct drm_exec exec;
	int n;

	lock_objs(test, &exec, objs, 2);
	bo_a = drm_gpuvm_bo_obtain(t->gpuvm, a);
	bo_b = drm_gpuvm_bo_obtain(t->gpuvm, b);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, bo_a);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, bo_b);

	ops = drm_gpuvm_sm_map_ops_create(t->gpuvm, 0, 4 * PG, a, 0);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, ops);
	apply_linked(t, ops, bo_a);
	drm_gpuva_ops_free(t->gpuvm, ops);
	KUNIT_EXPECT_EQ(test, count_list(&bo_a->list.gpuva), 1);
	KUNIT_EXPECT_EQ(test, kref_read(&bo_a->kref), 2);

	ops = drm_gpuvm_sm_map_ops_create(t->gpuvm, PG, 2 * PG, b, 0);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, ops);
	apply_linked(t, ops, bo_b);
	drm_gpuva_ops_free(t->gpuvm, ops);
	/* A's mapping split in two, both linked to bo_a; B has one. */
	KUNIT_EXPECT_EQ(test, count_list(&bo_a->list.gpuva), 2);
	KUNIT_EXPECT_EQ(test, kref_read(&bo_a->kref), 3);
	KUNIT_EXPECT_EQ(test, count_list(&bo_b->list.gpuva), 1);
	KUNIT_EXPECT_EQ(test, kref_read(&bo_b->kref), 2);
	n = 0;
	{
		/*
		 * Named vm_bo: the base tree's drm_gpuvm_bo_for_each_va()
		 * reads a variable of that name instead of its argument.
		 */
		struct drm_gpuvm_bo *vm_bo = bo_a;

		drm_gpuvm_bo_for_each_va(va, vm_bo) {
			KUNIT_EXPECT_PTR_EQ(test, va->vm_bo, bo_a);
			KUNIT_EXPECT_PTR_EQ(test, va->gem.obj, a);
			n++;
		}
	}
	KUNIT_EXPECT_EQ(test, n, 2);

	/* bo_unmap_ops_create lists exactly A's mappings. */
	ops = drm_gpuvm_bo_unmap_ops_create(bo_a);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, ops);
	n = 0;
	{
		struct drm_gpuva_op *op;

		drm_gpuva_for_each_op(op, ops) {
			KUNIT_EXPECT_EQ(test, op->op, DRM_GPUVA_OP_UNMAP);
			KUNIT_EXPECT_PTR_EQ(test, op->unmap.va->vm_bo, bo_a);
			KUNIT_EXPECT_FALSE(test, op->unmap.keep);
			n++;
		}
	}
	KUNIT_EXPECT_EQ(test, n, 2);
	drm_gpuva_ops_free(t->gpuvm, ops);

	ops = drm_gpuvm_sm_unmap_ops_create(t->gpuvm, 0, 4 * PG);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, ops);
	apply_linked(t, ops, NULL);
	drm_gpuva_ops_free(t->gpuvm, ops);
	KUNIT_EXPECT_TRUE(test, list_empty(&bo_a->list.gpuva));
	KUNIT_EXPECT_TRUE(test, list_empty(&bo_b->list.gpuva));
	KUNIT_EXPECT_EQ(test, kref_read(&bo_a->kref), 1);
	KUNIT_EXPECT_EQ(test, kref_read(&bo_b->kref), 1);

	/* The last unlink of a vm_bo nobody else holds frees it. */
	va = va_new(t);
	va->va.addr = 0;
	va->va.range = PG;
	va->gem.obj = a;
	KUNIT_ASSERT_EQ(test, drm_gpuva_insert(t->gpuvm, va), 0);
	drm_gpuva_link(va, bo_a);
	drm_gpuvm_bo_put(bo_a);
	KUNIT_EXPECT_EQ(test, t->vm_bos_live, 2);
	drm_gpuva_unlink(va);
	KUNIT_EXPECT_NULL(test, va->vm_bo);
	KUNIT_EXPECT_EQ(test, t->vm_bos_live, 1);
	KUNIT_EXPECT_TRUE(test, list_empty(&a->gpuva.list));
	drm_gpuva_remove(va);
	va_free(t, va);

	drm_gpuvm_bo_put(bo_b);
	drm_exec_fini(&exec);
	KUNIT_EXPECT_EQ(test, t->vm_bos_live, 0);
}

/* Linking a mapping to the vm_bo of another object warns and does nothing. */
/* Runs the list tests in both locking modes. */
static const bool resv_modes[] = { false, true };

static void mode_desc(const bool *resv, char *desc)
{
	strscpy(desc, *resv ? "resv protected" : "spinlocks",
		KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(lock_mode, resv_modes, mode_desc);

/* Re-creates the VM in the requested mode; C becomes a private object. */
static void setup_mode(struct gpuvm_test *t, bool resv)
{
	vm_replace(t, resv ? DRM_GPUVM_RESV_PROTECTED : 0, &test_ops);
	t->objs[OBJ_C].resv = drm_gpuvm_resv(t->gpuvm);
}

static void drm_test_gpuvm_extobj(struct kunit *test)
{
	struct gpuvm_test *t = test->priv;
	struct drm_gem_object *a = &t->objs[OBJ_A], *c = &t->objs[OBJ_C];
	struct drm_gpuvm_bo *bo_a, *bo_c;
	struct drm_gem_object *objs[2];
	struct drm_exec exec;

	setup_mode(t, *(const bool *)test->param_value);
	objs[0] = t->r_obj;
	objs[1] = a;
	KUNIT_EXPECT_TRUE(test, drm_gpuvm_is_extobj(t->gpuvm, a));
	KUNIT_EXPECT_FALSE(test, drm_gpuvm_is_extobj(t->gpuvm, c));
	KUNIT_EXPECT_FALSE(test, drm_gpuvm_is_extobj(t->gpuvm, NULL));

	lock_objs(test, &exec, objs, 2);
	bo_a = drm_gpuvm_bo_obtain(t->gpuvm, a);
	bo_c = drm_gpuvm_bo_obtain(t->gpuvm, c);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, bo_a);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, bo_c);
	drm_gpuvm_bo_extobj_add(bo_a);
	drm_gpuvm_bo_extobj_add(bo_a);
	drm_gpuvm_bo_extobj_add(bo_c);
	KUNIT_EXPECT_EQ(test, count_list(&t->gpuvm->extobj.list), 1);
	KUNIT_EXPECT_PTR_EQ(test, list_first_entry(&t->gpuvm->extobj.list,
						   struct drm_gpuvm_bo,
						   list.entry.extobj), bo_a);

	drm_gpuvm_bo_put(bo_a);
	drm_gpuvm_bo_put(bo_c);
	KUNIT_EXPECT_TRUE(test, list_empty(&t->gpuvm->extobj.list));
	drm_exec_fini(&exec);
	t->objs[OBJ_C].resv = &t->objs[OBJ_C]._resv;
}

static void drm_test_gpuvm_evict_validate(struct kunit *test)
{
	bool resv = *(const bool *)test->param_value;
	struct gpuvm_test *t = test->priv;
	struct drm_gem_object *a = &t->objs[OBJ_A], *b = &t->objs[OBJ_B];
	struct drm_gem_object *c = &t->objs[OBJ_C];
	struct drm_gpuvm_bo *bo_a, *bo_b, *bo_c;
	struct drm_gem_object *objs[3];
	struct drm_exec exec;

	setup_mode(t, resv);
	memset(&vlog, 0, sizeof(vlog));
	objs[0] = t->r_obj;
	objs[1] = a;
	objs[2] = b;

	lock_objs(test, &exec, objs, 3);
	bo_a = drm_gpuvm_bo_obtain(t->gpuvm, a);
	bo_b = drm_gpuvm_bo_obtain(t->gpuvm, b);
	bo_c = drm_gpuvm_bo_obtain(t->gpuvm, c);
	drm_gpuvm_bo_extobj_add(bo_a);
	drm_gpuvm_bo_extobj_add(bo_b);

	/* Evict A and C, validate exactly those; the callback keeps them. */
	drm_gpuvm_bo_evict(bo_a, true);
	drm_gpuvm_bo_evict(bo_c, true);
	KUNIT_EXPECT_TRUE(test, bo_a->evicted);
	KUNIT_EXPECT_FALSE(test, bo_b->evicted);
	/* Resv mode: A is listed only once the VM's objects are prepared. */
	KUNIT_EXPECT_EQ(test, count_list(&t->gpuvm->evict.list), resv ? 1 : 2);
	prepare_list(test, t->gpuvm, &exec);
	KUNIT_EXPECT_EQ(test, count_list(&t->gpuvm->evict.list), 2);
	KUNIT_EXPECT_EQ(test, drm_gpuvm_validate(t->gpuvm, &exec), 0);
	KUNIT_EXPECT_EQ(test, vlog.n, 2);
	KUNIT_EXPECT_PTR_EQ(test, vlog.seen[0], resv ? bo_c : bo_a);
	KUNIT_EXPECT_PTR_EQ(test, vlog.seen[1], resv ? bo_a : bo_c);
	KUNIT_EXPECT_EQ(test, count_list(&t->gpuvm->evict.list), 2);

	/* Validated again next time; this time the callback clears them. */
	vlog.n = 0;
	vlog.clear = true;
	KUNIT_EXPECT_EQ(test, drm_gpuvm_validate(t->gpuvm, &exec), 0);
	KUNIT_EXPECT_EQ(test, vlog.n, 2);
	KUNIT_EXPECT_TRUE(test, list_empty(&t->gpuvm->evict.list));
	KUNIT_EXPECT_FALSE(test, bo_a->evicted);
	KUNIT_EXPECT_FALSE(test, bo_c->evicted);

	/* Nothing evicted: no call. */
	vlog.n = 0;
	KUNIT_EXPECT_EQ(test, drm_gpuvm_validate(t->gpuvm, &exec), 0);
	KUNIT_EXPECT_EQ(test, vlog.n, 0);

	/* A failing callback stops the walk with its error. */
	drm_gpuvm_bo_evict(bo_a, true);
	drm_gpuvm_bo_evict(bo_b, true);
	drm_gpuvm_bo_evict(bo_c, true);
	prepare_list(test, t->gpuvm, &exec);
	vlog.n = 0;
	vlog.fail_at = 2;
	KUNIT_EXPECT_EQ(test, drm_gpuvm_validate(t->gpuvm, &exec), -ENOSPC);
	KUNIT_EXPECT_EQ(test, vlog.n, 2);
	KUNIT_EXPECT_EQ(test, count_list(&t->gpuvm->evict.list), 2);
	vlog.fail_at = 0;

	/*
	 * A driver writing the state directly (xe does): the listed entries
	 * are still validated; resv mode then unlists them, spinlock mode
	 * keeps them listed.
	 */
	bo_a->evicted = false;
	bo_b->evicted = false;
	bo_c->evicted = false;
	vlog.n = 0;
	vlog.clear = false;
	KUNIT_EXPECT_EQ(test, drm_gpuvm_validate(t->gpuvm, &exec), 0);
	KUNIT_EXPECT_EQ(test, vlog.n, 2);
	KUNIT_EXPECT_EQ(test, count_list(&t->gpuvm->evict.list), resv ? 0 : 2);

	/* A vm_bo freed while evicted leaves the list. */
	drm_gpuvm_bo_evict(bo_b, true);
	drm_gpuvm_bo_put(bo_b);
	drm_gpuvm_bo_put(bo_a);
	drm_gpuvm_bo_put(bo_c);
	KUNIT_EXPECT_EQ(test, drm_gpuvm_validate(t->gpuvm, &exec), 0);
	KUNIT_EXPECT_TRUE(test, list_empty(&t->gpuvm->evict.list));
	KUNIT_EXPECT_TRUE(test, list_empty(&t->gpuvm->extobj.list));
	drm_exec_fini(&exec);
	t->objs[OBJ_C].resv = &t->objs[OBJ_C]._resv;
}

/*
 * One GEM object in two VMs: drm_gpuvm_bo_gem_evict() marks both, and each
 * VM's validate sees it once. (In resv mode an external object's list
 * entry is only made by prepare_objects.)
 */
static void drm_test_gpuvm_gem_evict_two_vms(struct kunit *test)
{
	struct gpuvm_test *t = test->priv;
	bool resv = *(const bool *)test->param_value;
	struct drm_gem_object *a = &t->objs[OBJ_A];
	struct drm_gem_object *objs[2] = { t->r_obj, a };
	struct drm_gpuvm *vm2;
	struct drm_gpuvm_bo *bo1, *bo2;
	struct drm_exec exec;

	setup_mode(t, resv);
	memset(&vlog, 0, sizeof(vlog));
	vm2 = vm_create(t, resv ? DRM_GPUVM_RESV_PROTECTED : 0);

	lock_objs(test, &exec, objs, 2);
	bo1 = drm_gpuvm_bo_obtain(t->gpuvm, a);
	bo2 = drm_gpuvm_bo_obtain(vm2, a);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, bo1);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, bo2);
	KUNIT_EXPECT_PTR_NE(test, bo1, bo2);
	KUNIT_EXPECT_EQ(test, count_list(&a->gpuva.list), 2);
	drm_gpuvm_bo_extobj_add(bo1);
	drm_gpuvm_bo_extobj_add(bo2);

	drm_gpuvm_bo_gem_evict(a, true);
	KUNIT_EXPECT_TRUE(test, bo1->evicted);
	KUNIT_EXPECT_TRUE(test, bo2->evicted);
	KUNIT_EXPECT_EQ(test, count_list(&t->gpuvm->evict.list), resv ? 0 : 1);
	KUNIT_EXPECT_EQ(test, count_list(&vm2->evict.list), resv ? 0 : 1);
	prepare_list(test, t->gpuvm, &exec);
	prepare_list(test, vm2, &exec);
	KUNIT_EXPECT_EQ(test, drm_gpuvm_validate(t->gpuvm, &exec), 0);
	KUNIT_EXPECT_EQ(test, drm_gpuvm_validate(vm2, &exec), 0);
	KUNIT_EXPECT_EQ(test, vlog.n, 2);
	KUNIT_EXPECT_PTR_EQ(test, vlog.seen[0], bo1);
	KUNIT_EXPECT_PTR_EQ(test, vlog.seen[1], bo2);
	KUNIT_EXPECT_EQ(test, count_list(&t->gpuvm->evict.list), 1);
	KUNIT_EXPECT_EQ(test, count_list(&vm2->evict.list), 1);

	/* Resv mode: still listed, so visited once more, then unlisted. */
	drm_gpuvm_bo_gem_evict(a, false);
	KUNIT_EXPECT_FALSE(test, bo1->evicted);
	KUNIT_EXPECT_FALSE(test, bo2->evicted);
	vlog.n = 0;
	KUNIT_EXPECT_EQ(test, drm_gpuvm_validate(t->gpuvm, &exec), 0);
	KUNIT_EXPECT_EQ(test, drm_gpuvm_validate(vm2, &exec), 0);
	KUNIT_EXPECT_EQ(test, vlog.n, resv ? 2 : 0);
	KUNIT_EXPECT_TRUE(test, list_empty(&t->gpuvm->evict.list));
	KUNIT_EXPECT_TRUE(test, list_empty(&vm2->evict.list));

	KUNIT_EXPECT_TRUE(test, drm_gpuvm_bo_put(bo1));
	KUNIT_EXPECT_TRUE(test, drm_gpuvm_bo_put(bo2));
	KUNIT_EXPECT_TRUE(test, list_empty(&vm2->extobj.list));
	drm_exec_fini(&exec);
	t->vm_freed = false;
	drm_gpuvm_put(vm2);
	KUNIT_EXPECT_TRUE(test, t->vm_freed);
	t->vm_freed = false;
}

/*
 * The validate callback changes the evicted list under the walk, as a
 * driver holding every lock may: the first call un-evicts A, not yet
 * visited, and evicts B.
 *
 * - spinlocks: A leaves the list unvisited; B joins it and is visited in
 *   the same walk.
 * - resv protected: both are external objects, so only their state
 *   changes; A, still listed, is visited and then unlisted (its state is
 *   clear); B waits for the next prepare_objects to be listed.
 */
static void drm_test_gpuvm_validate_list_changes(struct kunit *test)
{
	struct gpuvm_test *t = test->priv;
	struct drm_gem_object *a = &t->objs[OBJ_A], *b = &t->objs[OBJ_B];
	struct drm_gem_object *c = &t->objs[OBJ_C];
	struct drm_gem_object *objs[3] = { t->r_obj, a, b };
	bool resv = *(const bool *)test->param_value;
	struct drm_gpuvm_bo *bo_a, *bo_b, *bo_c;
	struct drm_exec exec;

	setup_mode(t, resv);
	memset(&vlog, 0, sizeof(vlog));
	lock_objs(test, &exec, objs, 3);
	bo_a = drm_gpuvm_bo_obtain(t->gpuvm, a);
	bo_b = drm_gpuvm_bo_obtain(t->gpuvm, b);
	bo_c = drm_gpuvm_bo_obtain(t->gpuvm, c);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, bo_a);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, bo_b);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, bo_c);
	drm_gpuvm_bo_extobj_add(bo_a);
	drm_gpuvm_bo_extobj_add(bo_b);

	/* C (private) is listed first in both modes, then A. */
	drm_gpuvm_bo_evict(bo_c, true);
	drm_gpuvm_bo_evict(bo_a, true);
	prepare_list(test, t->gpuvm, &exec);
	vlog.unevict_other = bo_a;
	vlog.evict_other = bo_b;
	KUNIT_EXPECT_EQ(test, drm_gpuvm_validate(t->gpuvm, &exec), 0);
	KUNIT_EXPECT_EQ(test, vlog.n, 2);
	KUNIT_EXPECT_PTR_EQ(test, vlog.seen[0], bo_c);
	KUNIT_EXPECT_PTR_EQ(test, vlog.seen[1], resv ? bo_a : bo_b);
	KUNIT_EXPECT_FALSE(test, bo_a->evicted);
	KUNIT_EXPECT_TRUE(test, bo_b->evicted);
	KUNIT_EXPECT_TRUE(test, bo_c->evicted);
	KUNIT_EXPECT_TRUE(test, list_empty(&bo_a->list.entry.evict));
	KUNIT_EXPECT_EQ(test, count_list(&t->gpuvm->evict.list), resv ? 1 : 2);

	memset(&vlog, 0, sizeof(vlog));
	prepare_list(test, t->gpuvm, &exec);
	KUNIT_EXPECT_EQ(test, drm_gpuvm_validate(t->gpuvm, &exec), 0);
	KUNIT_EXPECT_EQ(test, vlog.n, 2);
	KUNIT_EXPECT_PTR_EQ(test, vlog.seen[0], bo_c);
	KUNIT_EXPECT_PTR_EQ(test, vlog.seen[1], bo_b);

	drm_gpuvm_bo_put(bo_a);
	drm_gpuvm_bo_put(bo_b);
	drm_gpuvm_bo_put(bo_c);
	KUNIT_EXPECT_TRUE(test, list_empty(&t->gpuvm->evict.list));
	KUNIT_EXPECT_TRUE(test, list_empty(&t->gpuvm->extobj.list));
	drm_exec_fini(&exec);
}

/*
 * drm_gpuvm_exec_lock() locks the VM's resv and every external object,
 * even when another context holds one of them first and must back off.
 */
static void drm_test_gpuvm_exec_lock(struct kunit *test)
{
	struct gpuvm_test *t = test->priv;
	struct drm_gem_object *a = &t->objs[OBJ_A], *b = &t->objs[OBJ_B];
	struct drm_gem_object *extra[] = { &t->objs[OBJ_D] };
	struct drm_gpuvm_exec vm_exec = { .num_fences = 1 };
	struct drm_gpuvm_bo *bo_a, *bo_b;
	struct dma_resv_iter cursor;
	struct dma_fence *fence, *f;
	struct drm_gem_object *obj;
	int n;

	setup_mode(t, *(const bool *)test->param_value);
	vm_exec.vm = t->gpuvm;
	bo_a = ext_bo_get(t, a);
	bo_b = ext_bo_get(t, b);

	KUNIT_ASSERT_EQ(test, drm_gpuvm_exec_lock_array(&vm_exec, extra, 1), 0);
	n = 0;
	drm_exec_for_each_locked_object(&vm_exec.exec, obj) {
		KUNIT_EXPECT_TRUE(test, dma_resv_is_locked(obj->resv));
		n++;
	}
	KUNIT_EXPECT_EQ(test, n, 4);	/* VM resv, A, B, D */

	fence = dma_fence_get_stub();
	drm_gpuvm_exec_resv_add_fence(&vm_exec, fence, DMA_RESV_USAGE_BOOKKEEP,
				      DMA_RESV_USAGE_READ);
	/* A (external) got it as READ, the VM resv as BOOKKEEP only. */
	n = 0;
	dma_resv_for_each_fence(&cursor, a->resv, DMA_RESV_USAGE_READ, f)
		n++;
	KUNIT_EXPECT_EQ(test, n, 1);
	n = 0;
	dma_resv_for_each_fence(&cursor, drm_gpuvm_resv(t->gpuvm),
				DMA_RESV_USAGE_READ, f)
		n++;
	KUNIT_EXPECT_EQ(test, n, 0);
	n = 0;
	dma_resv_for_each_fence(&cursor, drm_gpuvm_resv(t->gpuvm),
				DMA_RESV_USAGE_BOOKKEEP, f)
		n++;
	KUNIT_EXPECT_EQ(test, n, 1);
	dma_fence_put(fence);
	drm_gpuvm_exec_unlock(&vm_exec);

	/* Without extras: the VM resv and the two external objects. */
	vm_exec.extra.fn = NULL;
	KUNIT_ASSERT_EQ(test, drm_gpuvm_exec_lock(&vm_exec), 0);
	n = 0;
	drm_exec_for_each_locked_object(&vm_exec.exec, obj)
		n++;
	KUNIT_EXPECT_EQ(test, n, 3);
	drm_gpuvm_exec_unlock(&vm_exec);

	KUNIT_EXPECT_FALSE(test, dma_resv_is_locked(a->resv));
	KUNIT_EXPECT_FALSE(test, dma_resv_is_locked(drm_gpuvm_resv(t->gpuvm)));
	KUNIT_EXPECT_TRUE(test, ext_bo_put(t, bo_a));
	KUNIT_EXPECT_TRUE(test, ext_bo_put(t, bo_b));
	KUNIT_EXPECT_TRUE(test, list_empty(&t->gpuvm->extobj.list));
}

/* An @extra callback for the helpers that must not call it. */
static int extra_must_not_run(struct drm_gpuvm_exec *vm_exec)
{
	kunit_fail_current_test("the extra callback was called");
	return -EBADMSG;
}

/* Checks the objects @exec holds, in locking order. */
static void locked_are(struct kunit *test, struct drm_exec *exec,
		       struct drm_gem_object *const *exp, unsigned int n)
{
	struct drm_gem_object *obj;
	unsigned int i = 0;

	drm_exec_for_each_locked_object(exec, obj) {
		if (i < n)
			KUNIT_EXPECT_PTR_EQ_MSG(test, obj, exp[i],
						"locked object %u", i);
		KUNIT_EXPECT_TRUE(test, dma_resv_is_locked(obj->resv));
		i++;
	}
	KUNIT_EXPECT_EQ(test, i, n);
}

/*
 * drm_gpuvm_prepare_range() locks the objects mapped in an interval, once
 * each, skipping sparse mappings; drm_gpuvm_exec_lock_range() locks those
 * and nothing else: not the VM's resv by itself, not an external object
 * mapped elsewhere, and it does not call @extra. (Bad intervals are in the
 * differences table.)
 *
 *	AACCAA--    BBBB
 */
static void drm_test_gpuvm_exec_lock_range(struct kunit *test)
{
	static const struct pmap m[] = {
		{ 0, 2, OBJ_A, 0 }, { 2, 2, OBJ_C, 0 }, { 4, 2, OBJ_A, 4 },
		{ 6, 2, OBJ_NONE, 0 }, { 12, 4, OBJ_B, 0 },
	};
	struct gpuvm_test *t = test->priv;
	struct drm_gem_object *a = &t->objs[OBJ_A], *b = &t->objs[OBJ_B];
	struct drm_gem_object *c = &t->objs[OBJ_C], *d = &t->objs[OBJ_D];
	struct drm_gpuvm_exec vm_exec = {
		.flags = DRM_EXEC_IGNORE_DUPLICATES,
		.num_fences = 1,
	};
	struct drm_gem_object *exp[3];
	struct drm_gpuvm_bo *bo_d;
	struct drm_exec exec;
	int ret = 0;

	setup_mode(t, *(const bool *)test->param_value);
	vm_exec.vm = t->gpuvm;
	space_build(t, m, ARRAY_SIZE(m));

	/* A is mapped twice: the second lock is a duplicate. */
	drm_exec_init(&exec, DRM_EXEC_IGNORE_DUPLICATES, 0);
	drm_exec_until_all_locked(&exec) {
		ret = drm_gpuvm_prepare_range(t->gpuvm, &exec, 0, 10 * PG, 1);
		drm_exec_retry_on_contention(&exec);
	}
	KUNIT_EXPECT_EQ(test, ret, 0);
	exp[0] = a;
	exp[1] = c;
	locked_are(test, &exec, exp, 2);
	KUNIT_EXPECT_FALSE(test, dma_resv_is_locked(b->resv));
	drm_exec_fini(&exec);

	/* D is an external object of the VM without a mapping. */
	bo_d = ext_bo_get(t, d);
	vm_exec.extra.fn = extra_must_not_run;

	KUNIT_ASSERT_EQ(test, drm_gpuvm_exec_lock_range(&vm_exec, 12 * PG,
							4 * PG), 0);
	exp[0] = b;
	locked_are(test, &vm_exec.exec, exp, 1);
	KUNIT_EXPECT_FALSE(test, dma_resv_is_locked(a->resv));
	KUNIT_EXPECT_FALSE(test, dma_resv_is_locked(d->resv));
	KUNIT_EXPECT_FALSE(test, dma_resv_is_locked(drm_gpuvm_resv(t->gpuvm)));
	KUNIT_EXPECT_TRUE(test, vm_exec.extra.fn == extra_must_not_run);
	drm_gpuvm_exec_unlock(&vm_exec);

	/*
	 * A private object alone in the interval, without
	 * DRM_EXEC_IGNORE_DUPLICATES: its resv is the VM's, locked once.
	 */
	vm_exec.flags = 0;
	KUNIT_ASSERT_EQ(test, drm_gpuvm_exec_lock_range(&vm_exec, 2 * PG,
							2 * PG), 0);
	exp[0] = c;
	locked_are(test, &vm_exec.exec, exp, 1);
	KUNIT_EXPECT_TRUE(test, dma_resv_is_locked(drm_gpuvm_resv(t->gpuvm)));
	drm_gpuvm_exec_unlock(&vm_exec);
	KUNIT_EXPECT_FALSE(test, dma_resv_is_locked(drm_gpuvm_resv(t->gpuvm)));
	KUNIT_EXPECT_TRUE(test, ext_bo_put(t, bo_d));
}

/* A second thread holding an object under an older ww ticket. */
struct contender {
	struct drm_gem_object *obj;
	struct task_struct *waiter;	/* the test, which must back off */
	const int *attempts;		/* its attempts at locking @obj */
	struct completion held;
	struct completion done;
	bool saw_wait;
};

static int contender_fn(void *arg)
{
	struct contender *c = arg;
	unsigned long timeout = jiffies + 10 * HZ;
	struct ww_acquire_ctx ctx;
	int ret, asleep = 0;

	ww_acquire_init(&ctx, &reservation_ww_class);
	ret = dma_resv_lock(c->obj->resv, &ctx);
	complete(&c->held);
	/*
	 * Keep the lock until the younger transaction has tried it (and got
	 * -EDEADLK, as it holds other locks) and then sleeps waiting for it
	 * with nothing else held; only then let it go. Asleep on two polls in
	 * a row: on SMP its state may flicker while it is still deciding to
	 * back off.
	 */
	while (time_before(jiffies, timeout) && asleep < 2) {
		usleep_range(500, 1000);
		if (READ_ONCE(*c->attempts) > 0 &&
		    READ_ONCE(c->waiter->__state) == TASK_UNINTERRUPTIBLE)
			asleep++;
		else
			asleep = 0;
	}
	c->saw_wait = !ret && asleep == 2;
	if (!ret)
		dma_resv_unlock(c->obj->resv);
	ww_acquire_fini(&ctx);
	complete(&c->done);
	return 0;
}

/* The extra callback of drm_gpuvm_exec_lock(), counting its calls. */
struct extra_lock {
	struct drm_gem_object *obj;
	int calls;
};

static int extra_lock_fn(struct drm_gpuvm_exec *vm_exec)
{
	struct extra_lock *x = vm_exec->extra.priv;

	x->calls++;
	return drm_exec_prepare_obj(&vm_exec->exec, x->obj,
				    vm_exec->num_fences);
}

/*
 * Another thread holds D, which the extra callback locks, under an older
 * ticket: the transaction gets -EDEADLK, drops everything, waits for D
 * and runs again; drm_gpuvm_exec_lock() still succeeds.
 */
static void drm_test_gpuvm_exec_contention(struct kunit *test)
{
	struct gpuvm_test *t = test->priv;
	struct drm_gem_object *a = &t->objs[OBJ_A], *d = &t->objs[OBJ_D];
	struct extra_lock x = { .obj = d };
	struct drm_gpuvm_exec vm_exec = {
		.flags = DRM_EXEC_IGNORE_DUPLICATES,
		.num_fences = 1,
		.extra = { .fn = extra_lock_fn, .priv = &x },
	};
	struct contender c = {
		.obj = d,
		.waiter = current,
		.attempts = &x.calls,
	};
	struct drm_gem_object *exp[3];
	struct task_struct *task;
	struct drm_gpuvm_bo *bo_a;

	setup_mode(t, *(const bool *)test->param_value);
	vm_exec.vm = t->gpuvm;
	bo_a = ext_bo_get(t, a);

	init_completion(&c.held);
	init_completion(&c.done);
	task = kthread_run(contender_fn, &c, "gpuvm-contender");
	KUNIT_ASSERT_FALSE(test, IS_ERR(task));
	wait_for_completion(&c.held);

	KUNIT_EXPECT_EQ(test, drm_gpuvm_exec_lock(&vm_exec), 0);
	wait_for_completion(&c.done);
	KUNIT_EXPECT_TRUE(test, c.saw_wait);
	/* Two passes: the first ended in -EDEADLK at D. */
	KUNIT_EXPECT_EQ(test, x.calls, 2);
	/*
	 * drm_exec takes D first in the second pass but lists it where the
	 * transaction asks for it: the order is that of a first pass.
	 */
	exp[0] = t->r_obj;
	exp[1] = a;
	exp[2] = d;
	locked_are(test, &vm_exec.exec, exp, 3);
	drm_gpuvm_exec_unlock(&vm_exec);
	KUNIT_EXPECT_TRUE(test, ext_bo_put(t, bo_a));
}

/* A thread that unbinds an object while the test's walk waits for it. */
struct releaser {
	struct drm_gem_object *obj;
	struct drm_gpuvm_bo *vm_bo;	/* its reference, the last one */
	struct task_struct *waiter;
	struct completion held;
	struct completion waiter_done;
	struct completion done;
	bool saw_wait;
	bool freed;
};

static int releaser_fn(void *arg)
{
	struct releaser *r = arg;
	unsigned long timeout = jiffies + 10 * HZ;

	dma_resv_lock(r->obj->resv, NULL);
	complete(&r->held);
	while (time_before(jiffies, timeout) &&
	       READ_ONCE(r->waiter->__state) != TASK_INTERRUPTIBLE)
		usleep_range(500, 1000);
	r->saw_wait = time_before(jiffies, timeout);
	/* The last unbind: drop the vm_bo, as a driver does, under the lock. */
	r->freed = drm_gpuvm_bo_put(r->vm_bo);
	/* Interrupt the waiter, and only then let the object go. */
	send_sig(SIGUSR1, r->waiter, 1);
	wait_for_completion(&r->waiter_done);
	dma_resv_unlock(r->obj->resv);
	complete(&r->done);
	return 0;
}

/*
 * Spinlock mode: drm_gpuvm_prepare_objects() waits for an external object
 * another thread holds; that thread drops the last reference of the
 * object's vm_bo and a signal ends the wait. The vm_bo is freed by the
 * thread that held the lock, not by the walk that failed to take it.
 */
static void prepare_interrupted(struct kunit *test)
{
	struct gpuvm_test *t = test->priv;
	struct drm_gem_object *a = &t->objs[OBJ_A];
	struct releaser r = { .obj = a, .waiter = current };
	struct task_struct *task;
	struct drm_exec exec;
	int ret = 0;

	dma_resv_lock(a->resv, NULL);
	r.vm_bo = drm_gpuvm_bo_obtain(t->gpuvm, a);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, r.vm_bo);
	drm_gpuvm_bo_extobj_add(r.vm_bo);
	dma_resv_unlock(a->resv);

	init_completion(&r.held);
	init_completion(&r.waiter_done);
	init_completion(&r.done);
	allow_signal(SIGUSR1);
	task = kthread_run(releaser_fn, &r, "gpuvm-releaser");
	KUNIT_ASSERT_FALSE(test, IS_ERR(task));
	wait_for_completion(&r.held);

	drm_exec_init(&exec, DRM_EXEC_INTERRUPTIBLE_WAIT, 0);
	drm_exec_until_all_locked(&exec) {
		ret = drm_gpuvm_prepare_vm(t->gpuvm, &exec, 1);
		if (!ret)
			ret = drm_gpuvm_prepare_objects(t->gpuvm, &exec, 1);
		drm_exec_retry_on_contention(&exec);
	}
	complete(&r.waiter_done);
	wait_for_completion(&r.done);
	drm_exec_fini(&exec);
	flush_signals(current);
	disallow_signal(SIGUSR1);

	KUNIT_EXPECT_EQ(test, ret, -EINTR);
	KUNIT_EXPECT_TRUE(test, r.saw_wait);
	KUNIT_EXPECT_TRUE(test, r.freed);
	KUNIT_EXPECT_EQ(test, t->vm_bos_live, 0);
	KUNIT_EXPECT_TRUE(test, list_empty(&t->gpuvm->extobj.list));
	KUNIT_EXPECT_TRUE(test, list_empty(&a->gpuva.list));
}

/* List operations that need the VM's dma-resv in resv-protected mode. */
enum resv_op {
	ROP_EXTOBJ_ADD,
	ROP_EXTOBJ_ADD_PRIVATE,
	ROP_PREPARE_OBJECTS,
	ROP_VALIDATE,
	ROP_PUT,
	ROP_PUT_UNLISTED,
};

struct resv_case {
	const char *name;
	enum resv_op op;
};

static const struct resv_case resv_cases[] = {
	{ "extobj_add", ROP_EXTOBJ_ADD },
	{ "prepare_objects", ROP_PREPARE_OBJECTS },
	{ "validate", ROP_VALIDATE },
	{ "last put of a listed vm_bo", ROP_PUT },
	{ "extobj_add of a private object", ROP_EXTOBJ_ADD_PRIVATE },
	{ "last put of an unlisted vm_bo", ROP_PUT_UNLISTED },
};

static void resv_case_desc(const struct resv_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(resv_assert, resv_cases, resv_case_desc);

/*
 * In %DRM_GPUVM_RESV_PROTECTED mode each list operation asserts that the
 * VM's dma-resv is held: called without it, lockdep warns. The harness
 * fails the run if an announced warning does not come.
 */
static void drm_test_gpuvm_resv_asserts(struct kunit *test)
{
	const struct resv_case *rc = test->param_value;
	struct gpuvm_test *t = test->priv;
	struct drm_gem_object *a = &t->objs[OBJ_A];
	struct drm_gpuvm_bo *bo_a, *bo_c;
	struct drm_exec exec;
	int ret = 0;

	setup_mode(t, true);
	bo_a = ext_bo_get(t, a);

	kunit_info(test, "expect-warning: %s without the VM's dma-resv\n",
		   rc->name);
	switch (rc->op) {
	case ROP_EXTOBJ_ADD:
		drm_gpuvm_bo_extobj_add(bo_a);
		break;
	case ROP_PREPARE_OBJECTS:
		drm_exec_init(&exec, 0, 0);
		drm_exec_until_all_locked(&exec) {
			ret = drm_gpuvm_prepare_objects(t->gpuvm, &exec, 1);
			drm_exec_retry_on_contention(&exec);
		}
		KUNIT_EXPECT_EQ(test, ret, 0);
		drm_exec_fini(&exec);
		break;
	case ROP_VALIDATE:
		lock_objs(test, &exec, &a, 1);
		KUNIT_EXPECT_EQ(test, drm_gpuvm_validate(t->gpuvm, &exec), 0);
		drm_exec_fini(&exec);
		break;
	case ROP_PUT:
		dma_resv_lock(a->resv, NULL);
		KUNIT_EXPECT_TRUE(test, drm_gpuvm_bo_put(bo_a));
		dma_resv_unlock(a->resv);
		bo_a = NULL;
		break;
	case ROP_EXTOBJ_ADD_PRIVATE:
		/* A vm_bo not yet on any list; C shares the VM's resv. */
		bo_c = drm_gpuvm_bo_create(t->gpuvm, &t->objs[OBJ_C]);
		KUNIT_ASSERT_NOT_NULL(test, bo_c);
		drm_gpuvm_bo_extobj_add(bo_c);
		kunit_info(test, "expect-warning-end\n");
		dma_resv_lock(drm_gpuvm_resv(t->gpuvm), NULL);
		KUNIT_EXPECT_TRUE(test, drm_gpuvm_bo_put(bo_c));
		dma_resv_unlock(drm_gpuvm_resv(t->gpuvm));
		break;
	case ROP_PUT_UNLISTED:
		/* A preallocated vm_bo of D dropped unused, D's resv held. */
		bo_c = drm_gpuvm_bo_create(t->gpuvm, &t->objs[OBJ_D]);
		KUNIT_ASSERT_NOT_NULL(test, bo_c);
		dma_resv_lock(t->objs[OBJ_D].resv, NULL);
		KUNIT_EXPECT_TRUE(test, drm_gpuvm_bo_put(bo_c));
		dma_resv_unlock(t->objs[OBJ_D].resv);
		break;
	}
	kunit_info(test, "expect-warning-end\n");

	if (bo_a)
		KUNIT_EXPECT_TRUE(test, ext_bo_put(t, bo_a));
	KUNIT_EXPECT_TRUE(test, list_empty(&t->gpuvm->extobj.list));
}

/* A thread adding and removing external, evicted vm_bos in a loop. */
struct churner {
	struct gpuvm_test *t;
	struct drm_gem_object *objs[2];
	int rounds;
	struct completion done;
};

static int churn_fn(void *arg)
{
	struct churner *c = arg;
	struct drm_gpuvm *vm = c->t->gpuvm;
	struct drm_gpuvm_bo *vm_bo;
	int i;

	/* The test's allocation stubs count this thread's allocations too. */
	current->kunit_test = c->t->test;
	for (i = 0; i < c->rounds; i++) {
		struct drm_gem_object *obj = c->objs[i % 2];

		dma_resv_lock(obj->resv, NULL);
		vm_bo = drm_gpuvm_bo_obtain(vm, obj);
		if (!IS_ERR(vm_bo)) {
			drm_gpuvm_bo_extobj_add(vm_bo);
			drm_gpuvm_bo_evict(vm_bo, true);
		}
		dma_resv_unlock(obj->resv);
		/* Listed: let the walker see it... */
		usleep_range(100, 200);
		dma_resv_lock(obj->resv, NULL);
		/* ...and block on the object in the middle of its walk. */
		usleep_range(100, 200);
		if (!IS_ERR(vm_bo)) {
			drm_gpuvm_bo_evict(vm_bo, false);
			drm_gpuvm_bo_put(vm_bo);
		}
		dma_resv_unlock(obj->resv);
	}
	current->kunit_test = NULL;
	complete(&c->done);
	return 0;
}

#define CHURN_ROUNDS 500

/*
 * Spinlock mode: while another thread keeps adding and freeing external,
 * evicted vm_bos, drm_gpuvm_exec_lock() walks the external-object list
 * again and again. The lists come out empty and nothing leaks; KASAN and
 * list debugging watch the walk.
 */
static void drm_test_gpuvm_concurrent_lists(struct kunit *test)
{
	struct gpuvm_test *t = test->priv;
	struct churner c = {
		.t = t,
		.objs = { &t->objs[OBJ_B], &t->objs[OBJ_D] },
		.rounds = CHURN_ROUNDS,
	};
	struct drm_gpuvm_exec vm_exec = { .num_fences = 1 };
	struct task_struct *task;
	struct drm_gem_object *obj;
	int walks = 0, seen = 0, n, ret;

	vm_replace(t, 0, &bare_ops);
	vm_exec.vm = t->gpuvm;
	init_completion(&c.done);
	task = kthread_run(churn_fn, &c, "gpuvm-churn");
	KUNIT_ASSERT_FALSE(test, IS_ERR(task));

	while (!completion_done(&c.done)) {
		ret = drm_gpuvm_exec_lock(&vm_exec);
		if (ret) {
			KUNIT_FAIL(test, "exec_lock: %d in walk %d", ret, walks);
			break;
		}
		n = 0;
		drm_exec_for_each_locked_object(&vm_exec.exec, obj)
			n++;
		if (n > 1)
			seen++;
		drm_gpuvm_exec_unlock(&vm_exec);
		walks++;
		cond_resched();
	}
	wait_for_completion(&c.done);
	kunit_info(test, "%d walks, %d found a churned object listed\n",
		   walks, seen);

	KUNIT_EXPECT_GT(test, seen, 0);
	KUNIT_EXPECT_TRUE(test, list_empty(&t->gpuvm->extobj.list));
	KUNIT_EXPECT_TRUE(test, list_empty(&t->gpuvm->evict.list));
	KUNIT_EXPECT_TRUE(test, list_empty(&t->objs[OBJ_B].gpuva.list));
	KUNIT_EXPECT_TRUE(test, list_empty(&t->objs[OBJ_D].gpuva.list));
	KUNIT_EXPECT_EQ(test, kref_read(&t->gpuvm->kref), 1);
#ifndef DRM_GPUVM_TEST_BASE
	KUNIT_EXPECT_EQ(test, atomic_read(&t->mem_live), 1);	/* r_obj */
#endif
}

/* A thread running one drm_gpuvm_exec_lock() and noting what it locked. */
struct relist_walker {
	struct drm_gpuvm_exec vm_exec;
	struct drm_gem_object *locked[OBJ_COUNT + 1];
	unsigned int n_locked;
	int ret;
	struct completion done;
};

static int relist_walk_fn(void *arg)
{
	struct relist_walker *w = arg;
	struct drm_gem_object *obj;

	w->ret = drm_gpuvm_exec_lock(&w->vm_exec);
	if (!w->ret) {
		drm_exec_for_each_locked_object(&w->vm_exec.exec, obj)
			if (w->n_locked < ARRAY_SIZE(w->locked))
				w->locked[w->n_locked++] = obj;
		drm_gpuvm_exec_unlock(&w->vm_exec);
	}
	complete(&w->done);
	return 0;
}

/* How long the test waits for the walker to queue on the object's lock. */
#define RELIST_WAIT_MS 2000

/*
 * Spinlock mode: drm_gpuvm_exec_lock() has reached B's vm_bo on the
 * external-object list and waits for B's lock, which this thread holds
 * while it drops that vm_bo and lists a new one for B. The walk then
 * meets B a second time: B is locked once, and the walk succeeds (the
 * base tree's walk holds the first vm_bo, so there the second is the
 * same one). Without DRM_EXEC_IGNORE_DUPLICATES a second lock of B
 * would be -EALREADY, an error the caller never caused.
 */
static void drm_test_gpuvm_prepare_objects_relisted(struct kunit *test)
{
	struct gpuvm_test *t = test->priv;
	struct drm_gem_object *b = &t->objs[OBJ_B];
	struct relist_walker w = { .vm_exec.num_fences = 1 };
	struct drm_gpuvm_bo *vm_bo;
	struct task_struct *task;
	unsigned long timeout;

	if (IS_ENABLED(CONFIG_PREEMPT_RT))
		kunit_skip(test, "needs struct mutex's wait list");

	vm_replace(t, 0, &bare_ops);
	w.vm_exec.vm = t->gpuvm;
	init_completion(&w.done);

	dma_resv_lock(b->resv, NULL);
	vm_bo = drm_gpuvm_bo_obtain(t->gpuvm, b);
	KUNIT_ASSERT_FALSE(test, IS_ERR(vm_bo));
	drm_gpuvm_bo_extobj_add(vm_bo);

	task = kthread_run(relist_walk_fn, &w, "gpuvm-relist");
	if (IS_ERR(task)) {
		drm_gpuvm_bo_put(vm_bo);
		dma_resv_unlock(b->resv);
		KUNIT_FAIL(test, "kthread_run: %ld", PTR_ERR(task));
		return;
	}

	/* The walker has taken the VM's resv and queued on B's lock. */
	timeout = jiffies + msecs_to_jiffies(RELIST_WAIT_MS);
	while (list_empty_careful(&b->resv->lock.base.wait_list) &&
	       time_before(jiffies, timeout))
		msleep(1);
	KUNIT_EXPECT_FALSE_MSG(test,
			       list_empty_careful(&b->resv->lock.base.wait_list),
			       "the walker never waited for B");

	drm_gpuvm_bo_put(vm_bo);
	vm_bo = drm_gpuvm_bo_obtain(t->gpuvm, b);
	KUNIT_EXPECT_FALSE(test, IS_ERR(vm_bo));
	if (!IS_ERR(vm_bo))
		drm_gpuvm_bo_extobj_add(vm_bo);
	dma_resv_unlock(b->resv);
	wait_for_completion(&w.done);

	KUNIT_EXPECT_EQ(test, w.ret, 0);
	KUNIT_EXPECT_EQ(test, w.n_locked, 2);
	KUNIT_EXPECT_PTR_EQ(test, w.locked[0], t->gpuvm->r_obj);
	KUNIT_EXPECT_PTR_EQ(test, w.locked[1], b);

	if (!IS_ERR(vm_bo)) {
		dma_resv_lock(b->resv, NULL);
		KUNIT_EXPECT_TRUE(test, drm_gpuvm_bo_put(vm_bo));
		dma_resv_unlock(b->resv);
	}
	KUNIT_EXPECT_TRUE(test, list_empty(&t->gpuvm->extobj.list));
	KUNIT_EXPECT_TRUE(test, list_empty(&b->gpuva.list));
}

/* ---- Driver flows -------------------------------------------------------- */

/*
 * Randomised jobs in the shape of each in-tree driver's VM_BIND path (ops
 * lists applied at submit with unwinding, or callbacks consuming
 * preallocated mappings), with the fixture's objects and the public API
 * only, checking the VA space against a page model after every job.
 * Teardown unmaps everything; the fixture's exit then proves nothing
 * leaked. These are stress flows, not replays: the drivers' exact calls
 * are replayed in drm_gpuvm_replay_test.c.
 */

#define DRV_JOBS 40
#define DRV_JOB_MAX 3
#define DRV_DEAD_MAX (DRV_JOB_MAX * 16)
#define DRV_SEED 0xbb67ae8584caa73bull

/* One bind request, in pages. */
struct drv_bind {
	bool map;
	u64 addr;
	u64 n;
	int obj;
	u64 offset;
};

/* A VM as a driver holds it, and the model of what it should map. */
struct drv_vm {
	struct gpuvm_test *t;
	struct drm_gpuvm *vm;
	struct page_model pm[RND_PAGES];
	int jobs;
	bool flags;		/* xe: DRM_GPUVA_SPARSE and a user bit on B */
};

static void drv_vm_init(struct drv_vm *d, struct gpuvm_test *t,
			struct drm_gpuvm *vm)
{
	int i;

	memset(d, 0, sizeof(*d));
	d->t = t;
	d->vm = vm;
	for (i = 0; i < RND_PAGES; i++)
		d->pm[i].obj = -1;
}

static void drv_random_bind(struct rnd_state *rnd, struct drv_bind *b,
			    bool sparse)
{
	b->addr = prandom_u32_state(rnd) % RND_PAGES;
	b->n = 1 + prandom_u32_state(rnd) %
		   min_t(u64, 10, RND_PAGES - b->addr);
	b->map = prandom_u32_state(rnd) % 3;
	b->obj = OBJ_A + prandom_u32_state(rnd) % (OBJ_COUNT - OBJ_A);
	if (sparse && !(prandom_u32_state(rnd) % 5))
		b->obj = OBJ_NONE;
	b->offset = prandom_u32_state(rnd) % 4;
}

static void drv_model_apply(struct drv_vm *d, const struct drv_bind *b)
{
	u64 p;

	for (p = b->addr; p < b->addr + b->n; p++) {
		d->pm[p].obj = b->map ? b->obj : -1;
		d->pm[p].offset = b->offset + (p - b->addr);
	}
}

/* The flags xe keeps on its mappings, as a function of the object. */
static unsigned long drv_flags_for(struct drv_vm *d, struct drm_gem_object *obj)
{
	if (!d->flags)
		return 0;
	if (!obj)
		return DRM_GPUVA_SPARSE;
	return obj == &d->t->objs[OBJ_B] ? DRM_GPUVA_USERBITS : 0;
}

/*
 * The space matches the model; every mapping of an object is linked to the
 * vm_bo of its pair and carries the flags the driver gave it; each vm_bo
 * lists exactly its mappings.
 */
static bool drv_check(struct drv_vm *d)
{
	struct gpuvm_test *t = d->t;
	struct drm_gpuvm_bo *vm_bo;
	struct drm_gpuva *va;
	int mapped = 0, listed = 0, i;

	if (!model_matches(t, d->vm, d->pm, DRV_SEED, d->jobs))
		return false;
	drm_gpuvm_for_each_va(va, d->vm) {
		if (va == &d->vm->kernel_alloc_node)
			continue;
		if (va->flags != drv_flags_for(d, va->gem.obj)) {
			KUNIT_FAIL(t->test, "job %d: flags %#lx at %#llx",
				   d->jobs, (unsigned long)va->flags,
				   va->va.addr);
			return false;
		}
		if (!va->gem.obj)
			continue;
		mapped++;
		if (!va->vm_bo || va->vm_bo->vm != d->vm ||
		    va->vm_bo->obj != va->gem.obj) {
			KUNIT_FAIL(t->test, "job %d: mapping at %#llx badly linked",
				   d->jobs, va->va.addr);
			return false;
		}
	}
	/* Read without the locks: the test is the only thread. */
	for (i = OBJ_A; i < OBJ_COUNT; i++) {
		int pairs = 0;

		list_for_each_entry(vm_bo, &t->objs[i].gpuva.list,
				    list.entry.gem) {
			if (vm_bo->vm != d->vm)
				continue;
			listed += count_list(&vm_bo->list.gpuva);
			pairs++;
		}
		if (pairs > 1) {
			KUNIT_FAIL(t->test, "job %d: %d vm_bos for object %d",
				   d->jobs, pairs, i);
			return false;
		}
	}
	if (listed != mapped) {
		KUNIT_FAIL(t->test, "job %d: %d mappings, %d linked", d->jobs,
			   mapped, listed);
		return false;
	}
	return true;
}

/* Locks the VM's resv and every fixture object, as a job touching any may. */
static void drv_lock_all(struct drv_vm *d, struct drm_exec *exec)
{
	struct gpuvm_test *t = d->t;
	struct drm_gem_object *objs[OBJ_COUNT];
	int i;

	objs[0] = t->r_obj;
	for (i = OBJ_A; i < OBJ_COUNT; i++)
		objs[i] = &t->objs[i];
	lock_objs(t->test, exec, objs, OBJ_COUNT);
}

/* ---- The ops-list flow: nouveau and xe ---- */

/*
 * One job: per bind, obtain the vm_bo, plan, apply at once (later binds
 * of the job see the result), linking new mappings; removed ones are
 * unlinked and freed in cleanup. A failing bind unwinds the whole job in
 * reverse. Objects stay locked for the job, as nouveau's exec does.
 */
struct list_job {
	struct drv_vm *d;
	struct drm_gpuva_ops *ops[DRV_JOB_MAX];
	struct drm_gpuvm_bo *vm_bo[DRV_JOB_MAX];
	struct drm_gpuva *dead[DRV_DEAD_MAX];
	int ndead;
};

static void list_apply(struct list_job *j, struct drm_gpuva_op *op,
		       struct drm_gpuvm_bo *vm_bo)
{
	struct drv_vm *d = j->d;
	struct drm_gpuva *va, *prev = NULL, *next = NULL;

	switch (op->op) {
	case DRM_GPUVA_OP_MAP:
		va = va_new(d->t);
		drm_gpuva_map(d->vm, va, &op->map);
		va->flags = drv_flags_for(d, va->gem.obj);
		drm_gpuva_link(va, vm_bo);
		break;
	case DRM_GPUVA_OP_REMAP:
		va = op->remap.unmap->va;
		if (op->remap.prev)
			prev = va_new(d->t);
		if (op->remap.next)
			next = va_new(d->t);
		drm_gpuva_remap(prev, next, &op->remap);
		if (prev) {
			prev->flags = va->flags;
			drm_gpuva_link(prev, va->vm_bo);
		}
		if (next) {
			next->flags = va->flags;
			drm_gpuva_link(next, va->vm_bo);
		}
		j->dead[j->ndead++] = va;
		break;
	case DRM_GPUVA_OP_UNMAP:
		drm_gpuva_unmap(&op->unmap);
		j->dead[j->ndead++] = op->unmap.va;
		break;
	default:
		break;
	}
}

/* Removes and frees the mapping a MAP or REMAP piece created. */
static void list_drop_new(struct list_job *j, const struct drm_gpuva_op_map *m)
{
	struct drm_gpuva *va = drm_gpuva_find(j->d->vm, m->va.addr, m->va.range);

	KUNIT_ASSERT_NOT_NULL(j->d->t->test, va);
	drm_gpuva_remove(va);
	drm_gpuva_unlink(va);
	va_free(j->d->t, va);
}

static void list_unwind(struct list_job *j, struct drm_gpuva_op *op)
{
	struct kunit *test = j->d->t->test;

	switch (op->op) {
	case DRM_GPUVA_OP_MAP:
		list_drop_new(j, &op->map);
		break;
	case DRM_GPUVA_OP_REMAP:
		if (op->remap.prev)
			list_drop_new(j, op->remap.prev);
		if (op->remap.next)
			list_drop_new(j, op->remap.next);
		KUNIT_ASSERT_EQ(test, drm_gpuva_insert(j->d->vm,
						       op->remap.unmap->va), 0);
		j->ndead--;
		break;
	case DRM_GPUVA_OP_UNMAP:
		KUNIT_ASSERT_EQ(test, drm_gpuva_insert(j->d->vm, op->unmap.va),
				0);
		j->ndead--;
		break;
	default:
		break;
	}
}

/* Runs a job; the bind numbered @fail_bind fails before its last step. */
static int list_job_run(struct drv_vm *d, const struct drv_bind *b, int nb,
			int fail_bind)
{
	struct gpuvm_test *t = d->t;
	struct list_job j = { .d = d };
	struct drm_gpuva_op *op;
	struct drm_exec exec;
	int i, k, ret = 0;

	drv_lock_all(d, &exec);
	for (i = 0; i < nb; i++) {
		struct drm_gem_object *obj = b[i].map ? obj_of(t, b[i].obj) : NULL;

		if (obj) {
			j.vm_bo[i] = drm_gpuvm_bo_obtain(d->vm, obj);
			KUNIT_ASSERT_NOT_ERR_OR_NULL(t->test, j.vm_bo[i]);
			drm_gpuvm_bo_extobj_add(j.vm_bo[i]);
		}
		if (b[i].map)
			j.ops[i] = drm_gpuvm_sm_map_ops_create(d->vm,
							       b[i].addr * PG,
							       b[i].n * PG, obj,
							       b[i].offset * PG);
		else
			j.ops[i] = drm_gpuvm_sm_unmap_ops_create(d->vm,
								 b[i].addr * PG,
								 b[i].n * PG);
		KUNIT_ASSERT_NOT_ERR_OR_NULL(t->test, j.ops[i]);

		/* The failing bind fails at its last step, not applied. */
		drm_gpuva_for_each_op(op, j.ops[i]) {
			if (i == fail_bind && list_is_last(&op->entry,
							   &j.ops[i]->list))
				break;
			list_apply(&j, op, j.vm_bo[i]);
		}
		if (i == fail_bind) {
			ret = -EIO;
			break;
		}
	}

	if (ret) {
		/* Back out the failed bind from the step before, then the rest. */
		if (!list_empty(&j.ops[i]->list)) {
			op = list_last_entry(&j.ops[i]->list,
					     struct drm_gpuva_op, entry);
			op = list_prev_entry(op, entry);
			drm_gpuva_for_each_op_from_reverse(op, j.ops[i])
				list_unwind(&j, op);
		}
		for (k = i - 1; k >= 0; k--)
			drm_gpuva_for_each_op_reverse(op, j.ops[k])
				list_unwind(&j, op);
		KUNIT_EXPECT_EQ(t->test, j.ndead, 0);
	}

	for (k = 0; k < j.ndead; k++) {
		drm_gpuva_unlink(j.dead[k]);
		va_free(t, j.dead[k]);
	}
	for (k = 0; k < nb; k++) {
		drm_gpuva_ops_free(d->vm, j.ops[k]);
		drm_gpuvm_bo_put(j.vm_bo[k]);
	}
	drm_exec_fini(&exec);

	if (!ret)
		for (i = 0; i < nb; i++)
			drv_model_apply(d, &b[i]);
	d->jobs++;
	return ret;
}

/* Unmaps the whole space in one job and checks it is empty. */
static void list_teardown(struct drv_vm *d)
{
	struct drv_bind all = { .map = false, .addr = 0, .n = RND_PAGES };

	KUNIT_EXPECT_EQ(d->t->test, list_job_run(d, &all, 1, -1), 0);
	drv_check(d);
}

/* Runs DRV_JOBS random jobs of up to three binds; every 7th one fails. */
static void list_random_jobs(struct drv_vm *d, struct rnd_state *rnd,
			     bool sparse)
{
	struct drv_bind b[DRV_JOB_MAX];
	int i, k, nb, failed = 0;

	for (i = 0; i < DRV_JOBS; i++) {
		nb = 1 + prandom_u32_state(rnd) % DRV_JOB_MAX;
		for (k = 0; k < nb; k++)
			drv_random_bind(rnd, &b[k], sparse);
		if (list_job_run(d, b, nb, i % 7 == 6 ? nb - 1 : -1))
			failed++;
		if (!drv_check(d))
			return;
	}
	KUNIT_EXPECT_EQ(d->t->test, failed, DRV_JOBS / 7);
}

/* nouveau's exec: lock, validate, fence, unlock. Returns validations. */
static int nouveau_exec(struct drv_vm *d)
{
	struct drm_gpuvm_exec vme = {
		.vm = d->vm,
		.flags = DRM_EXEC_IGNORE_DUPLICATES,
		.num_fences = 1,
	};
	struct dma_fence *fence = dma_fence_get_stub();
	int before = vlog.n;

	KUNIT_EXPECT_EQ(d->t->test, drm_gpuvm_exec_lock(&vme), 0);
	KUNIT_EXPECT_EQ(d->t->test, drm_gpuvm_exec_validate(&vme), 0);
	drm_gpuvm_exec_resv_add_fence(&vme, fence, DMA_RESV_USAGE_KERNEL,
				      DMA_RESV_USAGE_BOOKKEEP);
	drm_gpuvm_exec_unlock(&vme);
	dma_fence_put(fence);
	return vlog.n - before;
}

/*
 * nouveau: spinlock mode, the ops-list flow with unwinding, two VMs
 * sharing object A, eviction reported with drm_gpuvm_bo_gem_evict() and
 * undone by the exec path's validation.
 */
static void drm_test_gpuvm_flow_nouveau(struct kunit *test)
{
	static const struct drv_bind map_a = { true, 40, 4, OBJ_A, 0 };
	struct gpuvm_test *t = test->priv;
	struct drm_gem_object *a = &t->objs[OBJ_A];
	unsigned int a_refs = gem_refs(a);
	struct drv_vm *d1, *d2;
	struct rnd_state rnd;

	d1 = kunit_kzalloc(test, sizeof(*d1), GFP_KERNEL);
	d2 = kunit_kzalloc(test, sizeof(*d2), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, d1);
	KUNIT_ASSERT_NOT_NULL(test, d2);
	drv_vm_init(d1, t, t->gpuvm);
	drv_vm_init(d2, t, vm_create(t, 0));
	memset(&vlog, 0, sizeof(vlog));
	vlog.clear = true;
	prandom_seed_state(&rnd, DRV_SEED);

	list_random_jobs(d1, &rnd, true);
	list_random_jobs(d2, &rnd, true);

	/* A mapped in both VMs, then evicted: each exec validates it once. */
	KUNIT_ASSERT_EQ(test, list_job_run(d1, &map_a, 1, -1), 0);
	KUNIT_ASSERT_EQ(test, list_job_run(d2, &map_a, 1, -1), 0);
	dma_resv_lock(a->resv, NULL);
	drm_gpuvm_bo_gem_evict(a, true);
	dma_resv_unlock(a->resv);
	KUNIT_EXPECT_EQ(test, nouveau_exec(d1), 1);
	KUNIT_EXPECT_EQ(test, nouveau_exec(d2), 1);
	KUNIT_EXPECT_EQ(test, nouveau_exec(d1), 0);
	KUNIT_EXPECT_TRUE(test, list_empty(&d1->vm->evict.list));

	list_teardown(d1);
	list_teardown(d2);
	KUNIT_EXPECT_TRUE(test, list_empty(&d1->vm->extobj.list));
	KUNIT_EXPECT_TRUE(test, list_empty(&a->gpuva.list));
	KUNIT_EXPECT_EQ(test, gem_refs(a), a_refs);
	KUNIT_EXPECT_EQ(test, kref_read(&d2->vm->kref), 1);
	t->vm_freed = false;
	drm_gpuvm_put(d2->vm);
	KUNIT_EXPECT_TRUE(test, t->vm_freed);
	t->vm_freed = false;
}

/* xe embeds the op in a larger structure of its own. */
struct xe_like_op {
	struct drm_gpuva_op base;
	u32 tag;
};

static struct drm_gpuva_op *xe_op_alloc(void)
{
	struct xe_like_op *op = kzalloc(sizeof(*op), GFP_KERNEL);

	if (!op)
		return NULL;
	op->tag = 0x5845;
	cur->ops_live++;
	return &op->base;
}

static void xe_op_free(struct drm_gpuva_op *op)
{
	struct xe_like_op *x = container_of(op, struct xe_like_op, base);

	KUNIT_EXPECT_EQ(cur->test, x->tag, 0x5845);
	cur->ops_live--;
	kfree(x);
}

/* xe's validate writes the evicted state itself. */
static int xe_validate(struct drm_gpuvm_bo *vm_bo, struct drm_exec *exec)
{
	vlog.n++;
	vm_bo->evicted = false;
	return 0;
}

static const struct drm_gpuvm_ops xe_ops = {
	.vm_free = test_vm_free,
	.op_alloc = xe_op_alloc,
	.op_free = xe_op_free,
	.vm_bo_validate = xe_validate,
};

/*
 * xe: resv-protected lists, ops embedded in driver structures, sparse and
 * driver flag bits kept across splits, prefetch plans, unbinding every
 * mapping of an object with drm_gpuvm_bo_unmap_ops_create(), eviction
 * under the object's resv, validation and fencing.
 */
static void drm_test_gpuvm_flow_xe(struct kunit *test)
{
	struct gpuvm_test *t = test->priv;
	struct drm_gem_object *a = &t->objs[OBJ_A], *c = &t->objs[OBJ_C];
	struct drm_gpuvm_bo *vm_bo;
	struct drm_gpuva_ops *ops;
	struct drm_gpuva_op *op;
	struct dma_fence *fence;
	struct drm_gpuva *va;
	struct drm_exec exec;
	struct rnd_state rnd;
	struct drv_vm *d;
	int n, want;
	u64 p;

	d = kunit_kzalloc(test, sizeof(*d), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, d);
	vm_replace(t, DRM_GPUVM_RESV_PROTECTED, &xe_ops);
	drv_vm_init(d, t, t->gpuvm);
	d->flags = true;
	prandom_seed_state(&rnd, DRV_SEED ^ 1);
	list_random_jobs(d, &rnd, true);

	/* Prefetch: one step per mapping overlapping the interval. */
	ops = drm_gpuvm_prefetch_ops_create(d->vm, 8 * PG, 24 * PG);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, ops);
	n = 0;
	drm_gpuva_for_each_op(op, ops) {
		KUNIT_EXPECT_EQ(test, op->op, DRM_GPUVA_OP_PREFETCH);
		n++;
	}
	want = 0;
	drm_gpuvm_for_each_va_range(va, d->vm, 8 * PG, 32 * PG)
		want++;
	KUNIT_EXPECT_EQ(test, n, want);
	drm_gpuva_ops_free(d->vm, ops);

	/* Evict A (every VM it is in), then validate and fence. */
	drv_lock_all(d, &exec);
	drm_gem_for_each_gpuvm_bo(vm_bo, a)
		drm_gpuvm_bo_evict(vm_bo, true);
	prepare_list(test, d->vm, &exec);
	memset(&vlog, 0, sizeof(vlog));
	KUNIT_EXPECT_EQ(test, drm_gpuvm_validate(d->vm, &exec), 0);
	KUNIT_EXPECT_EQ(test, vlog.n, list_empty(&a->gpuva.list) ? 0 : 1);
	KUNIT_EXPECT_TRUE(test, list_empty(&d->vm->evict.list));
	fence = dma_fence_get_stub();
	drm_gpuvm_resv_add_fence(d->vm, &exec, fence, DMA_RESV_USAGE_BOOKKEEP,
				 DMA_RESV_USAGE_BOOKKEEP);
	dma_fence_put(fence);

	/* C goes away: unbind all its mappings through its vm_bo. */
	vm_bo = drm_gpuvm_bo_find(d->vm, c);
	if (vm_bo) {
		ops = drm_gpuvm_bo_unmap_ops_create(vm_bo);
		KUNIT_ASSERT_NOT_ERR_OR_NULL(test, ops);
		drm_gpuva_for_each_op(op, ops) {
			va = op->unmap.va;
			KUNIT_EXPECT_PTR_EQ(test, va->gem.obj, c);
			drm_gpuva_unmap(&op->unmap);
			drm_gpuva_unlink(va);
			va_free(t, va);
		}
		drm_gpuva_ops_free(d->vm, ops);
		KUNIT_EXPECT_TRUE(test, drm_gpuvm_bo_put(vm_bo));
		for (p = 0; p < RND_PAGES; p++)
			if (d->pm[p].obj == OBJ_C)
				d->pm[p].obj = -1;
	}
	drm_exec_fini(&exec);
	drv_check(d);
	KUNIT_EXPECT_TRUE(test, list_empty(&c->gpuva.list));

	list_teardown(d);
	KUNIT_EXPECT_TRUE(test, list_empty(&d->vm->extobj.list));
}

/* ---- The callback flow: panthor and imagination ---- */

/*
 * What a driver prepares before its critical section: the vm_bo and the
 * mappings a step may need, so that the steps never allocate.
 */
struct cb_job {
	struct drv_vm *d;
	struct drm_gpuvm_bo *vm_bo;
	struct drm_gpuva *prealloc[3];
	int used;
	struct mutex *gpuva_locks;	/* panthor: the object's own lock */
	int remaps;
};

static struct drm_gpuva *cb_take(struct cb_job *j)
{
	KUNIT_ASSERT_LT(j->d->t->test, j->used, 3);
	return j->prealloc[j->used++];
}

static void cb_gpuva_lock(struct cb_job *j, struct drm_gem_object *obj)
{
	if (j->gpuva_locks && obj)
		mutex_lock(&j->gpuva_locks[obj - j->d->t->objs]);
}

static void cb_gpuva_unlock(struct cb_job *j, struct drm_gem_object *obj)
{
	if (j->gpuva_locks && obj)
		mutex_unlock(&j->gpuva_locks[obj - j->d->t->objs]);
}

static void cb_unlink_free(struct cb_job *j, struct drm_gpuva *va)
{
	struct drm_gem_object *obj = va->gem.obj;

	cb_gpuva_lock(j, obj);
	drm_gpuva_unlink(va);
	cb_gpuva_unlock(j, obj);
	va_free(j->d->t, va);
}

static int cb_step_map(struct drm_gpuva_op *op, void *priv)
{
	struct cb_job *j = priv;
	struct drm_gpuva *va = cb_take(j);

	drm_gpuva_map(j->d->vm, va, &op->map);
	cb_gpuva_lock(j, va->gem.obj);
	drm_gpuva_link(va, j->vm_bo);
	cb_gpuva_unlock(j, va->gem.obj);
	return 0;
}

static int cb_step_remap(struct drm_gpuva_op *op, void *priv)
{
	struct cb_job *j = priv;
	struct drm_gpuva *old = op->remap.unmap->va;
	struct drm_gpuva *prev = op->remap.prev ? cb_take(j) : NULL;
	struct drm_gpuva *next = op->remap.next ? cb_take(j) : NULL;
	u64 start, range, hole_start, hole_end;

	/* The page-table range the driver tears down: between the pieces. */
	drm_gpuva_op_remap_to_unmap_range(&op->remap, &start, &range);
	hole_start = prev ? op->remap.prev->va.addr + op->remap.prev->va.range :
		     old->va.addr;
	hole_end = next ? op->remap.next->va.addr :
		   old->va.addr + old->va.range;
	KUNIT_EXPECT_EQ(j->d->t->test, start, hole_start);
	KUNIT_EXPECT_EQ(j->d->t->test, range, hole_end - hole_start);

	drm_gpuva_remap(prev, next, &op->remap);
	cb_gpuva_lock(j, old->gem.obj);
	if (prev)
		drm_gpuva_link(prev, old->vm_bo);
	if (next)
		drm_gpuva_link(next, old->vm_bo);
	cb_gpuva_unlock(j, old->gem.obj);
	cb_unlink_free(j, old);
	j->remaps++;
	return 0;
}

static int cb_step_unmap(struct drm_gpuva_op *op, void *priv)
{
	struct cb_job *j = priv;
	struct drm_gpuva *va = op->unmap.va;

	drm_gpuva_unmap(&op->unmap);
	cb_unlink_free(j, va);
	return 0;
}

static const struct drm_gpuvm_ops cb_ops = {
	.vm_free = test_vm_free,
	.vm_bo_validate = test_vm_bo_validate,
	.sm_step_map = cb_step_map,
	.sm_step_remap = cb_step_remap,
	.sm_step_unmap = cb_step_unmap,
};

/*
 * panthor's bind: vm_bo and mappings made before the critical section; in
 * it, under the VM's resv, obtain_prealloc and the split/merge walk with
 * steps that only use what was prepared; a vm_bo goes with the last
 * unlink of its mappings.
 */
static void panthor_bind(struct drv_vm *d, struct mutex *locks,
			 const struct drv_bind *b)
{
	struct gpuvm_test *t = d->t;
	struct drm_gem_object *obj = b->map ? obj_of(t, b->obj) : NULL;
	struct dma_resv *vm_resv = drm_gpuvm_resv(d->vm);
	struct cb_job j = { .d = d, .gpuva_locks = locks };
	struct drm_gpuvm_bo *pre = NULL;
	int i, ret;

	if (obj) {
		pre = drm_gpuvm_bo_create(d->vm, obj);
		KUNIT_ASSERT_NOT_NULL(t->test, pre);
	}
	for (i = 0; i < 3; i++)
		j.prealloc[i] = va_new(t);

	dma_resv_lock(vm_resv, NULL);
	if (obj) {
		cb_gpuva_lock(&j, obj);
		j.vm_bo = drm_gpuvm_bo_obtain_prealloc(pre);
		cb_gpuva_unlock(&j, obj);
		drm_gpuvm_bo_extobj_add(j.vm_bo);
	}
	if (b->map)
		ret = drm_gpuvm_sm_map(d->vm, &j, b->addr * PG, b->n * PG, obj,
				       b->offset * PG);
	else
		ret = drm_gpuvm_sm_unmap(d->vm, &j, b->addr * PG, b->n * PG);
	KUNIT_EXPECT_EQ(t->test, ret, 0);

	/* Cleanup: the job's vm_bo reference and what it did not use. */
	cb_gpuva_lock(&j, obj);
	drm_gpuvm_bo_put(j.vm_bo);
	cb_gpuva_unlock(&j, obj);
	dma_resv_unlock(vm_resv);
	for (i = j.used; i < 3; i++)
		va_free(t, j.prealloc[i]);

	drv_model_apply(d, b);
	d->jobs++;
}

/*
 * panthor: resv-protected lists, each object's gpuva list guarded by a
 * driver mutex (drm_gem_gpuva_set_lock()), preallocation, callbacks.
 */
static void drm_test_gpuvm_flow_panthor(struct kunit *test)
{
	struct gpuvm_test *t = test->priv;
	struct drv_bind all = { .map = false, .addr = 0, .n = RND_PAGES };
	struct mutex *locks;	/* each object's gpuva lock, as panthor's */
	struct drv_bind b;
	struct rnd_state rnd;
	struct drv_vm *d;
	int i;

	d = kunit_kzalloc(test, sizeof(*d), GFP_KERNEL);
	locks = kunit_kcalloc(test, OBJ_COUNT, sizeof(*locks), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, d);
	KUNIT_ASSERT_NOT_NULL(test, locks);
	for (i = OBJ_A; i < OBJ_COUNT; i++) {
		mutex_init(&locks[i]);
		drm_gem_gpuva_set_lock(&t->objs[i], &locks[i]);
	}
	vm_replace(t, DRM_GPUVM_RESV_PROTECTED, &cb_ops);
	drv_vm_init(d, t, t->gpuvm);
	prandom_seed_state(&rnd, DRV_SEED ^ 2);

	for (i = 0; i < DRV_JOBS * 2; i++) {
		drv_random_bind(&rnd, &b, false);
		panthor_bind(d, locks, &b);
		if (!drv_check(d))
			break;
	}
	panthor_bind(d, locks, &all);
	drv_check(d);
	KUNIT_EXPECT_TRUE(test, list_empty(&d->vm->extobj.list));
	for (i = OBJ_A; i < OBJ_COUNT; i++) {
		KUNIT_EXPECT_TRUE(test, list_empty(&t->objs[i].gpuva.list));
		mutex_destroy(&locks[i]);
	}
}

/* imagination's extra lock callback: the object being bound. */
static int pvr_lock_cb(struct drm_gpuvm_exec *vm_exec)
{
	struct cb_job *j = vm_exec->extra.priv;
	struct gpuvm_test *t = j->d->t;
	int i, ret;

	/* The unmap steps touch other objects' lists: lock them all. */
	for (i = OBJ_A; i < OBJ_COUNT; i++) {
		ret = drm_exec_prepare_obj(&vm_exec->exec, &t->objs[i], 1);
		if (ret)
			return ret;
	}
	return 0;
}

/*
 * imagination: spinlock mode; binds checked with drm_gpuvm_range_valid(),
 * unbinds only of an exact mapping found with drm_gpuva_find(), locked by
 * drm_gpuvm_exec_lock() with an extra callback, applied with callbacks.
 * Returns 0, -EINVAL or -ENOENT as the driver would.
 */
static int pvr_bind(struct drv_vm *d, const struct drv_bind *b)
{
	struct gpuvm_test *t = d->t;
	struct drm_gem_object *obj = b->map ? obj_of(t, b->obj) : NULL;
	struct cb_job j = { .d = d };
	struct drm_gpuvm_exec vm_exec = {
		.vm = d->vm,
		.flags = DRM_EXEC_IGNORE_DUPLICATES,
		.num_fences = 1,
		.extra = { .fn = pvr_lock_cb, .priv = &j },
	};
	int i, ret;

	if (!drm_gpuvm_range_valid(d->vm, b->addr * PG, b->n * PG))
		return -EINVAL;
	if (!b->map && !drm_gpuva_find(d->vm, b->addr * PG, b->n * PG))
		return -ENOENT;
	for (i = 0; i < 3; i++)
		j.prealloc[i] = va_new(t);

	ret = drm_gpuvm_exec_lock(&vm_exec);
	KUNIT_EXPECT_EQ(t->test, ret, 0);
	if (!ret) {
		if (obj) {
			j.vm_bo = drm_gpuvm_bo_obtain(d->vm, obj);
			KUNIT_ASSERT_NOT_ERR_OR_NULL(t->test, j.vm_bo);
			drm_gpuvm_bo_extobj_add(j.vm_bo);
		}
		if (b->map)
			ret = drm_gpuvm_sm_map(d->vm, &j, b->addr * PG,
					       b->n * PG, obj, b->offset * PG);
		else
			ret = drm_gpuvm_sm_unmap(d->vm, &j, b->addr * PG,
						 b->n * PG);
		KUNIT_EXPECT_EQ(t->test, ret, 0);
		drm_gpuvm_bo_put(j.vm_bo);
		drm_gpuvm_exec_unlock(&vm_exec);
	}
	for (i = j.used; i < 3; i++)
		va_free(t, j.prealloc[i]);
	drv_model_apply(d, b);
	d->jobs++;
	return ret;
}

static void drm_test_gpuvm_flow_imagination(struct kunit *test)
{
	struct gpuvm_test *t = test->priv;
	struct drv_bind bad = { true, RSV_START - 1, 2, OBJ_A, 0 };
	struct drv_bind b, last = {};
	struct drm_gpuva *va, *next;
	int i, ret, enoent = 0, done = 0;
	struct rnd_state rnd;
	struct drv_vm *d;

	d = kunit_kzalloc(test, sizeof(*d), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, d);
	vm_replace(t, 0, &cb_ops);
	drv_vm_init(d, t, t->gpuvm);
	prandom_seed_state(&rnd, DRV_SEED ^ 3);

	/* Overlapping the kernel-reserved node: refused before any work. */
	KUNIT_EXPECT_EQ(test, pvr_bind(d, &bad), -EINVAL);

	for (i = 0; i < DRV_JOBS * 2; i++) {
		drv_random_bind(&rnd, &b, false);
		/* Half the unbinds name the last mapping made exactly. */
		if (!b.map && last.map && (i & 1)) {
			b = last;
			b.map = false;
		}
		ret = pvr_bind(d, &b);
		if (ret == -ENOENT)
			enoent++;
		else if (!ret)
			done++;
		if (b.map)
			last = b;
		if (!drv_check(d))
			break;
	}
	kunit_info(test, "%d binds done, %d unbinds of no exact mapping\n",
		   done, enoent);
	KUNIT_EXPECT_GT(test, enoent, 0);

	/* Unbind what is left, one exact mapping at a time. */
	drm_gpuvm_for_each_va_safe(va, next, d->vm) {
		struct drv_bind u = { false, va->va.addr / PG,
				      va->va.range / PG, OBJ_NONE, 0 };

		if (va == &d->vm->kernel_alloc_node)
			continue;
		KUNIT_EXPECT_EQ(test, pvr_bind(d, &u), 0);
	}
	drv_check(d);
	KUNIT_EXPECT_TRUE(test, list_empty(&d->vm->extobj.list));
}

/* drm_debugfs_gpuva_info() prints our space as its format says. */
static void drm_test_gpuvm_debugfs_info(struct kunit *test)
{
	static const struct pmap m[] = {
		{ 1, 2, OBJ_A, 3 }, { 8, 1, OBJ_NONE, 0 },
	};
	struct gpuvm_test *t = test->priv;
	struct seq_file s = {};
	char *want, *line;
	int i;

	space_build(t, m, ARRAY_SIZE(m));
	s.size = PAGE_SIZE;
	s.buf = kunit_kzalloc(test, s.size, GFP_KERNEL);
	want = kunit_kzalloc(test, s.size, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, s.buf);
	KUNIT_ASSERT_NOT_NULL(test, want);

	KUNIT_ASSERT_EQ(test, drm_debugfs_gpuva_info(&s, t->gpuvm), 0);
	line = want;
	line += sprintf(line, "DRM GPU VA space (test) [0x%016llx;0x%016llx]\n",
			0ull, SPACE_PAGES * PG);
	line += sprintf(line, "Kernel reserved node [0x%016llx;0x%016llx]\n",
			RSV_START * PG, RSV_END * PG);
	line += sprintf(line, "\n VAs | %-18s | %-18s | %-18s | %-18s | %s\n",
			"start", "range", "end", "object", "object offset");
	for (i = 0; i < 109; i++)
		*line++ = '-';
	*line++ = '\n';
	for (i = 0; i < ARRAY_SIZE(m); i++) {
		u64 col[5] = {
			m[i].addr * PG, m[i].range * PG,
			(m[i].addr + m[i].range) * PG,
			(u64)(uintptr_t)obj_of(t, m[i].obj), m[i].offset * PG,
		};
		int c;

		line += sprintf(line, "    ");
		for (c = 0; c < ARRAY_SIZE(col); c++)
			line += sprintf(line, " | 0x%016llx", col[c]);
		line += sprintf(line, "\n");
	}
	KUNIT_EXPECT_EQ(test, s.count, strlen(want));
	KUNIT_EXPECT_STREQ(test, s.buf, want);

	/* An uninitialised VM has no name: -ENODEV. */
	{
		struct drm_gpuvm blank = {};

		KUNIT_EXPECT_EQ(test, drm_debugfs_gpuva_info(&s, &blank),
				-ENODEV);
	}
}

/* ---- What the callers rely on at run time ------------------------------- */

/*
 * Zero fence slots lock without reserving: xe_exec.c fills its
 * drm_gpuvm_exec without .num_fences, xe's rebind worker calls
 * drm_gpuvm_prepare_vm(.., 0) and drm_gpuvm_prepare_objects(.., 0), and
 * imagination's bind locks with no fences either.
 *
 *	AA
 */
static void drm_test_gpuvm_zero_fences(struct kunit *test)
{
	static const struct pmap m[] = { { 0, 2, OBJ_A, 0 } };
	struct gpuvm_test *t = test->priv;
	struct drm_gem_object *a = &t->objs[OBJ_A], *b = &t->objs[OBJ_B];
	struct drm_gem_object *exp[3];
	struct drm_gpuvm_bo *bo_b;
	struct drm_exec exec;
	int ret = 0;

	setup_mode(t, *(const bool *)test->param_value);
	space_build(t, m, ARRAY_SIZE(m));
	bo_b = ext_bo_get(t, b);

	/* The initialiser of xe_exec_ioctl(): no .num_fences. */
	{
		struct drm_gpuvm_exec vm_exec = {
			.vm = t->gpuvm,
			.flags = DRM_EXEC_INTERRUPTIBLE_WAIT |
				 DRM_EXEC_IGNORE_DUPLICATES,
		};

		KUNIT_ASSERT_EQ(test, drm_gpuvm_exec_lock(&vm_exec), 0);
		exp[0] = t->r_obj;
		exp[1] = b;
		locked_are(test, &vm_exec.exec, exp, 2);
		drm_gpuvm_exec_unlock(&vm_exec);
	}

	/* xe's preempt_rebind_work_func(): prepare_vm, prepare_objects. */
	drm_exec_init(&exec, DRM_EXEC_IGNORE_DUPLICATES, 0);
	drm_exec_until_all_locked(&exec) {
		ret = drm_gpuvm_prepare_vm(t->gpuvm, &exec, 0);
		drm_exec_retry_on_contention(&exec);
		if (!ret)
			ret = drm_gpuvm_prepare_objects(t->gpuvm, &exec, 0);
		drm_exec_retry_on_contention(&exec);
		if (!ret)
			ret = drm_gpuvm_prepare_range(t->gpuvm, &exec, 0, 2 * PG,
						      0);
		drm_exec_retry_on_contention(&exec);
	}
	KUNIT_EXPECT_EQ(test, ret, 0);
	exp[0] = t->r_obj;
	exp[1] = b;
	exp[2] = a;
	locked_are(test, &exec, exp, 3);
	drm_exec_fini(&exec);

	KUNIT_EXPECT_TRUE(test, ext_bo_put(t, bo_b));
}

/*
 * imagination's layout (pvr_vm.c): the VM's root object is embedded in the
 * structure vm_free frees. Everything the VM holds must be released before
 * vm_free; the DRM device reference goes after it.
 */
struct embedded_root_vm {
	struct drm_gpuvm base;
	struct drm_gem_object dummy_gem;
	struct kunit *test;
	struct drm_device *drm;
	unsigned int dev_refs_expected;
};

static void embedded_root_vm_free(struct drm_gpuvm *gpuvm)
{
	struct embedded_root_vm *vm =
		container_of(gpuvm, struct embedded_root_vm, base);

	/* The device is still held while vm_free runs. */
	KUNIT_EXPECT_EQ(vm->test, kref_read(&vm->drm->ref),
			vm->dev_refs_expected);
	cur->vm_freed = true;
	kfree(vm);
}

static const struct drm_gpuvm_ops embedded_root_ops = {
	.vm_free = embedded_root_vm_free,
};

/*
 * Every inserted mapping holds a VM reference (failed inserts take none),
 * so a VM whose driver dropped its reference lives until its last mapping
 * is removed.
 */
static void drm_test_gpuvm_mappings_hold_vm(struct kunit *test)
{
	struct gpuvm_test *t = test->priv;
	struct drm_gpuvm *vm = vm_create(t, 0);
	struct drm_gpuva *va, *clash;

	va = va_new(t);
	drm_gpuva_init(va, 4 * PG, 2 * PG, NULL, 0);
	KUNIT_ASSERT_EQ(test, drm_gpuva_insert(vm, va), 0);
	KUNIT_EXPECT_EQ(test, kref_read(&vm->kref), 2);
	clash = va_new(t);
	drm_gpuva_init(clash, 5 * PG, 2 * PG, NULL, 0);
	KUNIT_EXPECT_EQ(test, drm_gpuva_insert(vm, clash), -EEXIST);
	drm_gpuva_init(clash, SPACE_PAGES * PG, PG, NULL, 0);
	KUNIT_EXPECT_EQ(test, drm_gpuva_insert(vm, clash), -EINVAL);
	KUNIT_EXPECT_EQ(test, kref_read(&vm->kref), 2);
	va_free(t, clash);

	drm_gpuvm_put(vm);
	KUNIT_EXPECT_FALSE(test, t->vm_freed);
	KUNIT_EXPECT_EQ(test, kref_read(&vm->kref), 1);
	drm_gpuva_remove(va);
	va_free(t, va);
	KUNIT_EXPECT_TRUE(test, t->vm_freed);
	t->vm_freed = false;
}

/*
 * Replays imagination's VM context: pvr_vm_create_context() initialises
 * the embedded dummy_gem and passes it as the root object (keeping its own
 * initial reference); pvr_vm_context_release() unmaps everything, calls
 * drm_gem_private_object_fini() on it and drops the VM, whose vm_free
 * (pvr_gpuvm_free()) frees the context and with it dummy_gem. The device
 * stays referenced until after vm_free.
 */
static void drm_test_gpuvm_pvr_vm_teardown(struct kunit *test)
{
	struct gpuvm_test *t = test->priv;
	unsigned int dev_refs = kref_read(&t->drm->ref);
	struct embedded_root_vm *vm_ctx;

	vm_ctx = kzalloc(sizeof(*vm_ctx), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, vm_ctx);
	vm_ctx->test = test;
	vm_ctx->drm = t->drm;
	vm_ctx->dev_refs_expected = dev_refs + 1;

	drm_gem_private_object_init(t->drm, &vm_ctx->dummy_gem, 0);
	drm_gpuvm_init(&vm_ctx->base, "PowerVR-user-VM", 0, t->drm,
		       &vm_ctx->dummy_gem, 0, 1ULL << 40, 0, 0,
		       &embedded_root_ops);
	KUNIT_EXPECT_EQ(test, kref_read(&vm_ctx->dummy_gem.refcount), 2);
	KUNIT_EXPECT_EQ(test, kref_read(&t->drm->ref), dev_refs + 1);

	/* pvr_vm_context_release() */
	drm_gem_private_object_fini(&vm_ctx->dummy_gem);
	drm_gpuvm_put(&vm_ctx->base);
	KUNIT_EXPECT_TRUE(test, t->vm_freed);
	KUNIT_EXPECT_EQ(test, kref_read(&t->drm->ref), dev_refs);
	t->vm_freed = false;
}

/*
 * A driver's op_alloc need not zero memory: every field of every step of
 * a plan is defined, a REMAP without a piece says so with NULL.
 *
 *	old: AAAA
 *	req:   BBBB      REMAP(prev = AA), MAP
 *	req: BB          REMAP(next = AA), MAP
 */
static struct drm_gpuva_op *garbage_op_alloc(void)
{
	struct drm_gpuva_op *op = kmalloc(sizeof(*op), GFP_KERNEL);

	if (op) {
		memset(op, 0xa5, sizeof(*op));
		cur->ops_live++;
	}
	return op;
}

static const struct drm_gpuvm_ops garbage_ops = {
	.vm_free = test_vm_free,
	.op_alloc = garbage_op_alloc,
	.op_free = test_op_free,
};

static void drm_test_gpuvm_op_alloc_unzeroed(struct kunit *test)
{
	static const struct pmap m[] = { { 0, 4, OBJ_A, 0 } };
	struct gpuvm_test *t = test->priv;
	struct drm_gem_object *b = &t->objs[OBJ_B];
	struct drm_gpuva_ops *ops;
	struct drm_gpuva_op *op;

	vm_replace(t, 0, &garbage_ops);
	space_build(t, m, ARRAY_SIZE(m));

	ops = drm_gpuvm_sm_map_ops_create(t->gpuvm, 2 * PG, 4 * PG, b, 0);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, ops);
	op = drm_gpuva_first_op(ops);
	KUNIT_ASSERT_EQ(test, op->op, DRM_GPUVA_OP_REMAP);
	KUNIT_ASSERT_NOT_NULL(test, op->remap.prev);
	KUNIT_EXPECT_NULL(test, op->remap.next);
	KUNIT_EXPECT_EQ(test, op->remap.prev->va.addr, 0);
	KUNIT_EXPECT_EQ(test, op->remap.prev->va.range, 2 * PG);
	KUNIT_EXPECT_FALSE(test, op->remap.unmap->keep);
	op = drm_gpuva_next_op(op);
	KUNIT_ASSERT_EQ(test, op->op, DRM_GPUVA_OP_MAP);
	KUNIT_EXPECT_EQ(test, op->map.va.addr, 2 * PG);
	KUNIT_EXPECT_EQ(test, op->map.va.range, 4 * PG);
	KUNIT_EXPECT_PTR_EQ(test, op->map.gem.obj, b);
	KUNIT_EXPECT_EQ(test, op->map.gem.offset, 0);
	KUNIT_EXPECT_PTR_EQ(test, drm_gpuva_last_op(ops), op);
	drm_gpuva_ops_free(t->gpuvm, ops);

	ops = drm_gpuvm_sm_map_ops_create(t->gpuvm, 0, 2 * PG, b, 0);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, ops);
	op = drm_gpuva_first_op(ops);
	KUNIT_ASSERT_EQ(test, op->op, DRM_GPUVA_OP_REMAP);
	KUNIT_EXPECT_NULL(test, op->remap.prev);
	KUNIT_ASSERT_NOT_NULL(test, op->remap.next);
	KUNIT_EXPECT_EQ(test, op->remap.next->va.addr, 2 * PG);
	KUNIT_EXPECT_EQ(test, op->remap.next->gem.offset, 2 * PG);
	drm_gpuva_ops_free(t->gpuvm, ops);

	ops = drm_gpuvm_sm_unmap_ops_create(t->gpuvm, 0, 4 * PG);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, ops);
	op = drm_gpuva_first_op(ops);
	KUNIT_ASSERT_EQ(test, op->op, DRM_GPUVA_OP_UNMAP);
	KUNIT_EXPECT_FALSE(test, op->unmap.keep);
	drm_gpuva_ops_free(t->gpuvm, ops);
	KUNIT_EXPECT_EQ(test, t->ops_live, 0);
}

/* A driver without vm_bo_validate: -EOPNOTSUPP, quietly. */
static const struct drm_gpuvm_ops no_validate_ops = {
	.vm_free = test_vm_free,
};

static void drm_test_gpuvm_validate_unsupported(struct kunit *test)
{
	struct gpuvm_test *t = test->priv;
	struct drm_exec exec;

	vm_replace(t, 0, &no_validate_ops);
	lock_objs(test, &exec, &t->r_obj, 1);
	KUNIT_EXPECT_EQ(test, drm_gpuvm_validate(t->gpuvm, &exec),
			-EOPNOTSUPP);
	drm_exec_fini(&exec);
}

/* ---- Deliberate differences from the base tree's GPUVM ------------------ */

enum difference {
	DIFF_EMPTY_INTERVAL,
	DIFF_FIND_NEIGHBOURS,
	DIFF_LINK_OTHER_OBJECT,
	DIFF_ARRAY_ZERO_FENCES,
	DIFF_PREFETCH_CHECKS_INTERVAL,
	DIFF_PREPARE_NEVER_FREES,
};

struct difference_case {
	const char *description;
	enum difference which;
};

/*
 * One row per entry of the "Differences from earlier versions" DOC, in
 * its order. Each row fails on the base tree's GPUVM; make kunit-base
 * checks that it does.
 */
static const struct difference_case difference_cases[] = {
	{ "difference: empty or overflowing interval", DIFF_EMPTY_INTERVAL },
	{ "difference: find_prev/find_next across a gap",
	  DIFF_FIND_NEIGHBOURS },
	{ "difference: link to another object's vm_bo",
	  DIFF_LINK_OTHER_OBJECT },
	{ "difference: zero fences for exec_lock_array objects",
	  DIFF_ARRAY_ZERO_FENCES },
	{ "difference: prefetch_ops_create checks its interval",
	  DIFF_PREFETCH_CHECKS_INTERVAL },
	{ "difference: prepare_objects never frees a vm_bo",
	  DIFF_PREPARE_NEVER_FREES },
};

static void difference_desc(const struct difference_case *c, char *desc)
{
	strscpy(desc, c->description, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(difference, difference_cases, difference_desc);

/*
 *	AA BB
 *
 * with the reserved node at the top of the space.
 */
static void drm_test_gpuvm_differences(struct kunit *test)
{
	static const struct pmap m[] = {
		{ 0, 2, OBJ_A, 0 }, { 3, 1, OBJ_B, 0 }, { 6, 2, OBJ_NONE, 0 },
	};
	const struct difference_case *c = test->param_value;
	struct gpuvm_test *t = test->priv;
	struct drm_gpuvm *vm = t->gpuvm;
	struct drm_gem_object *a = &t->objs[OBJ_A], *d = &t->objs[OBJ_D];
	struct drm_gpuvm_exec vm_exec = { .vm = vm };
	struct drm_gem_object *objs[2];
	struct drm_gpuva *va, *first;
	struct drm_gpuvm_bo *bo_b;
	struct drm_exec exec;
	int ret = 0;

	space_build(t, m, ARRAY_SIZE(m));
	first = drm_gpuva_find(vm, 0, 2 * PG);
	KUNIT_ASSERT_NOT_NULL(test, first);

	switch (c->which) {
	case DIFF_EMPTY_INTERVAL:
		KUNIT_EXPECT_FALSE(test, drm_gpuvm_range_valid(vm, 16 * PG, 0));
		KUNIT_EXPECT_NULL(test, drm_gpuva_find_first(vm, 0, 0));
		KUNIT_EXPECT_FALSE(test, drm_gpuvm_interval_empty(vm, 16 * PG, 0));
		va = va_new(t);
		drm_gpuva_init(va, 16 * PG, 0, NULL, 0);
		ret = drm_gpuva_insert(vm, va);
		KUNIT_EXPECT_EQ(test, ret, -EINVAL);
		if (!ret)
			drm_gpuva_remove(va);
		va_free(t, va);
		drm_exec_init(&exec, 0, 0);
		drm_exec_until_all_locked(&exec) {
			ret = drm_gpuvm_prepare_range(vm, &exec, 0, 0, 1);
			drm_exec_retry_on_contention(&exec);
		}
		KUNIT_EXPECT_EQ(test, ret, -EINVAL);
		drm_exec_fini(&exec);
		ret = drm_gpuvm_exec_lock_range(&vm_exec, PG, U64_MAX);
		KUNIT_EXPECT_EQ(test, ret, -EINVAL);
		if (!ret)
			drm_gpuvm_exec_unlock(&vm_exec);
		break;
	case DIFF_FIND_NEIGHBOURS:
		KUNIT_EXPECT_NULL(test, drm_gpuva_find_prev(vm, 3 * PG));
		KUNIT_EXPECT_NULL(test, drm_gpuva_find_prev(vm, PG));
		KUNIT_EXPECT_PTR_EQ(test, drm_gpuva_find_next(vm, RSV_START * PG),
				    &vm->kernel_alloc_node);
		KUNIT_EXPECT_PTR_EQ(test, drm_gpuva_find_prev(vm, RSV_END * PG),
				    &vm->kernel_alloc_node);
		break;
	case DIFF_LINK_OTHER_OBJECT:
		/* The mapping of A linked to B's vm_bo: refused. */
		objs[0] = a;
		objs[1] = &t->objs[OBJ_B];
		lock_objs(test, &exec, objs, 2);
		bo_b = drm_gpuvm_bo_obtain(vm, &t->objs[OBJ_B]);
		KUNIT_ASSERT_NOT_ERR_OR_NULL(test, bo_b);
		kunit_info(test, "expect-warning: linking to another object's vm_bo\n");
		drm_gpuva_link(first, bo_b);
		kunit_info(test, "expect-warning-end\n");
		KUNIT_EXPECT_NULL(test, first->vm_bo);
		KUNIT_EXPECT_TRUE(test, list_empty(&bo_b->list.gpuva));
		KUNIT_EXPECT_EQ(test, kref_read(&bo_b->kref), 1);
		if (first->vm_bo == bo_b) {
			/* The base tree linked it: undo by hand. */
			list_del_init(&first->gem.entry);
			first->vm_bo = NULL;
			drm_gpuvm_bo_put(bo_b);
		}
		drm_gpuvm_bo_put(bo_b);
		drm_exec_fini(&exec);
		break;
	case DIFF_ARRAY_ZERO_FENCES:
		ret = drm_gpuvm_exec_lock_array(&vm_exec, &d, 1);
		KUNIT_EXPECT_EQ(test, ret, 0);
		if (!ret) {
			KUNIT_EXPECT_TRUE(test, dma_resv_is_locked(d->resv));
			drm_gpuvm_exec_unlock(&vm_exec);
		}
		break;
	case DIFF_PREFETCH_CHECKS_INTERVAL: {
		static const struct bad_case *const bad[] = {
			&bad_cases[0], &bad_cases[3], &bad_cases[4],
		};
		struct drm_gpuva_ops *ops;
		unsigned int i;

		for (i = 0; i < ARRAY_SIZE(bad); i++) {
			ops = drm_gpuvm_prefetch_ops_create(vm, bad[i]->addr,
							    bad[i]->range);
			KUNIT_EXPECT_PTR_EQ_MSG(test, ops, ERR_PTR(-EINVAL),
						"%s", bad[i]->description);
			if (!IS_ERR(ops))
				drm_gpuva_ops_free(vm, ops);
		}
		break;
	}
	case DIFF_PREPARE_NEVER_FREES:
		prepare_interrupted(test);
		break;
	}
}

/* ---- Suite -------------------------------------------------------------- */

static struct kunit_case drm_gpuvm_core_tests[] = {
	KUNIT_CASE_PARAM(drm_test_gpuvm_sm_map, sm_map_gen_params),
	KUNIT_CASE_PARAM(drm_test_gpuvm_sm_unmap, sm_unmap_gen_params),
	KUNIT_CASE(drm_test_gpuvm_find),
	KUNIT_CASE(drm_test_gpuvm_iterators),
	KUNIT_CASE_PARAM(drm_test_gpuvm_bad_input, bad_input_gen_params),
	KUNIT_CASE(drm_test_gpuvm_insert_overlap),
	KUNIT_CASE(drm_test_gpuvm_reserved_node),
	KUNIT_CASE(drm_test_gpuvm_op_alloc_failure),
#ifndef DRM_GPUVM_TEST_BASE
	KUNIT_CASE_PARAM(drm_test_gpuvm_alloc_failure, alloc_gen_params),
#endif
	KUNIT_CASE(drm_test_gpuvm_callback_error),
	KUNIT_CASE(drm_test_gpuvm_prefetch),
	KUNIT_CASE(drm_test_gpuvm_remap_to_unmap_range),
	KUNIT_CASE_SLOW(drm_test_gpuvm_random),
	{}
};

static struct kunit_suite drm_gpuvm_core_suite = {
	.name = "drm_gpuvm",
	.init = gpuvm_test_init,
	.exit = gpuvm_test_exit,
	.test_cases = drm_gpuvm_core_tests,
};

static struct kunit_case drm_gpuvm_bo_tests[] = {
	KUNIT_CASE(drm_test_gpuvm_bo_obtain),
#ifndef DRM_GPUVM_TEST_BASE
	KUNIT_CASE(drm_test_gpuvm_bo_library_alloc),
#endif
	KUNIT_CASE(drm_test_gpuvm_bo_obtain_prealloc),
	KUNIT_CASE(drm_test_gpuvm_bo_holds_vm),
	KUNIT_CASE(drm_test_gpuvm_link_flow),
	KUNIT_CASE_PARAM(drm_test_gpuvm_extobj, lock_mode_gen_params),
	KUNIT_CASE_PARAM(drm_test_gpuvm_evict_validate, lock_mode_gen_params),
	KUNIT_CASE_PARAM(drm_test_gpuvm_validate_list_changes,
			 lock_mode_gen_params),
	KUNIT_CASE_PARAM(drm_test_gpuvm_gem_evict_two_vms, lock_mode_gen_params),
	KUNIT_CASE_PARAM(drm_test_gpuvm_exec_lock, lock_mode_gen_params),
	KUNIT_CASE_PARAM(drm_test_gpuvm_exec_lock_range, lock_mode_gen_params),
	KUNIT_CASE_PARAM(drm_test_gpuvm_exec_contention, lock_mode_gen_params),
	KUNIT_CASE_PARAM(drm_test_gpuvm_resv_asserts, resv_assert_gen_params),
	KUNIT_CASE_SLOW(drm_test_gpuvm_concurrent_lists),
	KUNIT_CASE(drm_test_gpuvm_prepare_objects_relisted),
	KUNIT_CASE_PARAM(drm_test_gpuvm_zero_fences, lock_mode_gen_params),
	KUNIT_CASE(drm_test_gpuvm_mappings_hold_vm),
	KUNIT_CASE(drm_test_gpuvm_pvr_vm_teardown),
	KUNIT_CASE(drm_test_gpuvm_op_alloc_unzeroed),
	KUNIT_CASE(drm_test_gpuvm_validate_unsupported),
	KUNIT_CASE_PARAM(drm_test_gpuvm_differences, difference_gen_params),
	{}
};

static struct kunit_suite drm_gpuvm_bo_suite = {
	.name = "drm_gpuvm_bo",
	.init = gpuvm_test_init,
	.exit = gpuvm_test_exit,
	.test_cases = drm_gpuvm_bo_tests,
};

static struct kunit_case drm_gpuvm_driver_tests[] = {
	KUNIT_CASE(drm_test_gpuvm_flow_nouveau),
	KUNIT_CASE(drm_test_gpuvm_flow_xe),
	KUNIT_CASE(drm_test_gpuvm_flow_panthor),
	KUNIT_CASE(drm_test_gpuvm_flow_imagination),
	KUNIT_CASE(drm_test_gpuvm_debugfs_info),
	{}
};

static struct kunit_suite drm_gpuvm_driver_suite = {
	.name = "drm_gpuvm_flows",
	.init = gpuvm_test_init,
	.exit = gpuvm_test_exit,
	.test_cases = drm_gpuvm_driver_tests,
};

kunit_test_suites(&drm_gpuvm_core_suite, &drm_gpuvm_bo_suite,
		  &drm_gpuvm_driver_suite);

MODULE_IMPORT_NS(EXPORTED_FOR_KUNIT_TESTING);
MODULE_DESCRIPTION("KUnit tests for the DRM GPU VA manager");
MODULE_LICENSE("Dual MIT/GPL");
