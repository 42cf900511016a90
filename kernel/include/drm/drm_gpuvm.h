/* SPDX-License-Identifier: GPL-2.0-only OR MIT */

#ifndef __DRM_GPUVM_H__
#define __DRM_GPUVM_H__

#include <linux/dma-resv.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/rbtree.h>
#include <linux/spinlock.h>
#include <linux/types.h>

#include <drm/drm_device.h>
#include <drm/drm_exec.h>
#include <drm/drm_gem.h>

struct drm_gpuvm;
struct drm_gpuvm_bo;
struct drm_gpuvm_ops;

/**
 * enum drm_gpuva_flags - state bits of a &drm_gpuva
 */
enum drm_gpuva_flags {
	/**
	 * @DRM_GPUVA_INVALIDATED: the pages behind the mapping moved, so its
	 * page-table entries are stale until the driver rebinds it.
	 */
	DRM_GPUVA_INVALIDATED = BIT(0),

	/**
	 * @DRM_GPUVA_SPARSE: the mapping reserves address space without
	 * backing memory.
	 */
	DRM_GPUVA_SPARSE = BIT(1),

	/**
	 * @DRM_GPUVA_USERBITS: first bit a driver may use for its own flags;
	 * shift it left for more.
	 */
	DRM_GPUVA_USERBITS = BIT(2),
};

/**
 * struct drm_gpuva - one mapping of a GPU virtual address space
 *
 * A mapping covers the addresses [@va.addr, @va.addr + @va.range) and,
 * unless it is sparse, points at @gem.obj starting at byte @gem.offset.
 * Drivers usually embed it in a larger structure of their own. The
 * structure is kept small on purpose: some workloads create millions.
 */
struct drm_gpuva {
	/**
	 * @vm: the VA space this mapping belongs to
	 */
	struct drm_gpuvm *vm;

	/**
	 * @vm_bo: the (VM, GEM) link this mapping hangs from; set by
	 * drm_gpuva_link(), cleared by drm_gpuva_unlink()
	 */
	struct drm_gpuvm_bo *vm_bo;

	/**
	 * @flags: &enum drm_gpuva_flags, plus the driver's own bits
	 */
	enum drm_gpuva_flags flags;

	/**
	 * @va: the address interval
	 */
	struct {
		/**
		 * @va.addr: first address of the mapping
		 */
		u64 addr;

		/**
		 * @va.range: size of the mapping in bytes
		 */
		u64 range;
	} va;

	/**
	 * @gem: the memory behind the mapping
	 */
	struct {
		/**
		 * @gem.offset: byte offset into @gem.obj of the first address
		 */
		u64 offset;

		/**
		 * @gem.obj: the backing GEM object, NULL for a sparse mapping
		 */
		struct drm_gem_object *obj;

		/**
		 * @gem.entry: node in the &drm_gpuvm_bo's list of mappings
		 */
		struct list_head entry;
	} gem;

	/**
	 * @rb: node in the VA space's address-ordered tree
	 */
	struct rb_node rb;
};

int drm_gpuva_insert(struct drm_gpuvm *gpuvm, struct drm_gpuva *va);
void drm_gpuva_remove(struct drm_gpuva *va);

void drm_gpuva_link(struct drm_gpuva *va, struct drm_gpuvm_bo *vm_bo);
void drm_gpuva_unlink(struct drm_gpuva *va);

struct drm_gpuva *drm_gpuva_find(struct drm_gpuvm *gpuvm,
				 u64 addr, u64 range);
struct drm_gpuva *drm_gpuva_find_first(struct drm_gpuvm *gpuvm,
				       u64 addr, u64 range);
struct drm_gpuva *drm_gpuva_find_prev(struct drm_gpuvm *gpuvm, u64 start);
struct drm_gpuva *drm_gpuva_find_next(struct drm_gpuvm *gpuvm, u64 end);

/**
 * drm_gpuva_invalidate() - mark or unmark a mapping as stale
 * @va: the mapping
 * @invalidate: true to set %DRM_GPUVA_INVALIDATED, false to clear it
 */
static inline void drm_gpuva_invalidate(struct drm_gpuva *va, bool invalidate)
{
	if (invalidate)
		va->flags |= DRM_GPUVA_INVALIDATED;
	else
		va->flags &= ~DRM_GPUVA_INVALIDATED;
}

/**
 * drm_gpuva_invalidated() - tell whether a mapping is marked stale
 * @va: the mapping
 *
 * Return: true if %DRM_GPUVA_INVALIDATED is set on @va.
 */
static inline bool drm_gpuva_invalidated(struct drm_gpuva *va)
{
	return va->flags & DRM_GPUVA_INVALIDATED;
}

/**
 * enum drm_gpuvm_flags - behaviour switches of a &drm_gpuvm
 */
enum drm_gpuvm_flags {
	/**
	 * @DRM_GPUVM_RESV_PROTECTED: the VM's lists of external and evicted
	 * objects are protected by the VM's common dma-resv instead of the
	 * internal spinlocks; every access asserts that it is held.
	 */
	DRM_GPUVM_RESV_PROTECTED = BIT(0),

	/**
	 * @DRM_GPUVM_USERBITS: first bit a driver may use for its own flags.
	 */
	DRM_GPUVM_USERBITS = BIT(1),
};

/**
 * struct drm_gpuvm - a GPU virtual address space
 *
 * Tracks the mappings of one address space in a tree ordered by address,
 * the external GEM objects mapped into it and the mapped objects that were
 * evicted. Drivers embed it in their VM structure, set it up with
 * drm_gpuvm_init() and release it with drm_gpuvm_put().
 */
struct drm_gpuvm {
	/**
	 * @name: name of the VA space, for debug output
	 */
	const char *name;

	/**
	 * @flags: &enum drm_gpuvm_flags
	 */
	enum drm_gpuvm_flags flags;

	/**
	 * @drm: the DRM device the VA space belongs to
	 */
	struct drm_device *drm;

	/**
	 * @mm_start: first address of the VA space
	 */
	u64 mm_start;

	/**
	 * @mm_range: size of the VA space in bytes
	 */
	u64 mm_range;

	/**
	 * @tree: every &drm_gpuva of the space, keyed by address
	 */
	struct rb_root_cached tree;

	/**
	 * @kref: reference count; drm_gpuvm_put() frees at zero
	 */
	struct kref kref;

	/**
	 * @kernel_alloc_node: the part of the space the kernel keeps for
	 * itself, an entry of @tree when its range is not zero
	 */
	struct drm_gpuva kernel_alloc_node;

	/**
	 * @ops: the driver's callbacks
	 */
	const struct drm_gpuvm_ops *ops;

	/**
	 * @r_obj: GEM object whose dma-resv is the VM's common reservation;
	 * objects sharing it are private to this VM
	 */
	struct drm_gem_object *r_obj;

	/**
	 * @extobj: the external objects mapped in this VM
	 */
	struct {
		/**
		 * @extobj.list: &drm_gpuvm_bo entries of external objects
		 */
		struct list_head list;

		/**
		 * @extobj.lock: protects @extobj.list unless the VM is
		 * %DRM_GPUVM_RESV_PROTECTED
		 */
		spinlock_t lock;
	} extobj;

	/**
	 * @evict: the mapped objects that were evicted
	 */
	struct {
		/**
		 * @evict.list: &drm_gpuvm_bo entries waiting for validation
		 */
		struct list_head list;

		/**
		 * @evict.lock: protects @evict.list unless the VM is
		 * %DRM_GPUVM_RESV_PROTECTED
		 */
		spinlock_t lock;
	} evict;
};

void drm_gpuvm_init(struct drm_gpuvm *gpuvm, const char *name,
		    enum drm_gpuvm_flags flags,
		    struct drm_device *drm,
		    struct drm_gem_object *r_obj,
		    u64 start_offset, u64 range,
		    u64 reserve_offset, u64 reserve_range,
		    const struct drm_gpuvm_ops *ops);

/**
 * drm_gpuvm_get() - take a reference on a VA space
 * @gpuvm: the VA space
 *
 * Return: @gpuvm.
 */
static inline struct drm_gpuvm *drm_gpuvm_get(struct drm_gpuvm *gpuvm)
{
	kref_get(&gpuvm->kref);
	return gpuvm;
}

void drm_gpuvm_put(struct drm_gpuvm *gpuvm);

bool drm_gpuvm_range_valid(struct drm_gpuvm *gpuvm, u64 addr, u64 range);
bool drm_gpuvm_interval_empty(struct drm_gpuvm *gpuvm, u64 addr, u64 range);

struct drm_gem_object *drm_gpuvm_resv_object_alloc(struct drm_device *drm);

#if IS_ENABLED(CONFIG_KUNIT)
/* The library's own allocator, visible so that KUnit can stub it. */
void *drm_gpuvm_kzalloc(size_t size);
void drm_gpuvm_kfree(const void *ptr);
#endif

/**
 * drm_gpuvm_resv_protected() - tell whether the VM's lists use its dma-resv
 * @gpuvm: the VA space
 *
 * Return: true if @gpuvm was created with %DRM_GPUVM_RESV_PROTECTED.
 */
static inline bool drm_gpuvm_resv_protected(struct drm_gpuvm *gpuvm)
{
	return gpuvm->flags & DRM_GPUVM_RESV_PROTECTED;
}

/**
 * drm_gpuvm_resv() - the VM's common &dma_resv
 * @gpuvm__: the VA space
 */
#define drm_gpuvm_resv(gpuvm__) ((gpuvm__)->r_obj->resv)

/**
 * drm_gpuvm_resv_obj() - the GEM object carrying the VM's common &dma_resv
 * @gpuvm__: the VA space
 */
#define drm_gpuvm_resv_obj(gpuvm__) ((gpuvm__)->r_obj)

/**
 * drm_gpuvm_resv_held() - tell whether the VM's common &dma_resv is locked
 * @gpuvm__: the VA space
 */
#define drm_gpuvm_resv_held(gpuvm__) dma_resv_held(drm_gpuvm_resv(gpuvm__))

/**
 * drm_gpuvm_resv_assert_held() - lockdep check of the VM's common &dma_resv
 * @gpuvm__: the VA space
 */
#define drm_gpuvm_resv_assert_held(gpuvm__) \
	dma_resv_assert_held(drm_gpuvm_resv(gpuvm__))

/**
 * drm_gpuvm_is_extobj() - tell whether a GEM object is external to a VM
 * @gpuvm: the VA space
 * @obj: the GEM object
 *
 * An object is external when its dma-resv is not the VM's common one.
 *
 * Return: true if @obj is an external object of @gpuvm.
 */
static inline bool drm_gpuvm_is_extobj(struct drm_gpuvm *gpuvm,
				       struct drm_gem_object *obj)
{
	return obj && obj->resv != drm_gpuvm_resv(gpuvm);
}

/* Internal helpers of the iterators below; not for direct use. */
static inline struct drm_gpuva *__drm_gpuva_of(struct rb_node *node)
{
	return node ? rb_entry(node, struct drm_gpuva, rb) : NULL;
}

static inline struct drm_gpuva *__drm_gpuva_next(struct drm_gpuva *va)
{
	return va ? __drm_gpuva_of(rb_next(&va->rb)) : NULL;
}

static inline struct drm_gpuva *__drm_gpuvm_first_va(struct drm_gpuvm *gpuvm)
{
	return __drm_gpuva_of(rb_first_cached(&gpuvm->tree));
}

struct drm_gpuva *__drm_gpuvm_range_first(struct drm_gpuvm *gpuvm,
					  u64 start, u64 end);

/**
 * drm_gpuvm_for_each_va_range() - walk the mappings overlapping an interval
 * @va__: &drm_gpuva cursor
 * @gpuvm__: the VA space
 * @start__: first address of the interval
 * @end__: first address after the interval
 *
 * Visits, in address order, every mapping that overlaps [@start__, @end__).
 * The body must not remove @va__ from the tree; see
 * drm_gpuvm_for_each_va_range_safe() for that.
 */
#define drm_gpuvm_for_each_va_range(va__, gpuvm__, start__, end__) \
	for (va__ = __drm_gpuvm_range_first((gpuvm__), (start__), (end__)); \
	     va__ && va__->va.addr < (end__); \
	     va__ = __drm_gpuva_next(va__))

/**
 * drm_gpuvm_for_each_va_range_safe() - walk the mappings overlapping an
 * interval, allowing removal of the current one
 * @va__: &drm_gpuva cursor
 * @next__: &drm_gpuva holding the next entry
 * @gpuvm__: the VA space
 * @start__: first address of the interval
 * @end__: first address after the interval
 *
 * Like drm_gpuvm_for_each_va_range(), but the body may remove (and free)
 * @va__.
 */
#define drm_gpuvm_for_each_va_range_safe(va__, next__, gpuvm__, start__, end__) \
	for (va__ = __drm_gpuvm_range_first((gpuvm__), (start__), (end__)), \
	     next__ = __drm_gpuva_next(va__); \
	     va__ && va__->va.addr < (end__); \
	     va__ = next__, next__ = __drm_gpuva_next(next__))

/**
 * drm_gpuvm_for_each_va() - walk every mapping of a VA space
 * @va__: &drm_gpuva cursor
 * @gpuvm__: the VA space
 *
 * Visits every entry in address order, the kernel-reserved node included.
 */
#define drm_gpuvm_for_each_va(va__, gpuvm__) \
	for (va__ = __drm_gpuvm_first_va(gpuvm__); va__; \
	     va__ = __drm_gpuva_next(va__))

/**
 * drm_gpuvm_for_each_va_safe() - walk every mapping of a VA space, allowing
 * removal of the current one
 * @va__: &drm_gpuva cursor
 * @next__: &drm_gpuva holding the next entry
 * @gpuvm__: the VA space
 */
#define drm_gpuvm_for_each_va_safe(va__, next__, gpuvm__) \
	for (va__ = __drm_gpuvm_first_va(gpuvm__), \
	     next__ = __drm_gpuva_next(va__); \
	     va__; \
	     va__ = next__, next__ = __drm_gpuva_next(next__))

/**
 * struct drm_gpuvm_exec - drm_exec context locking a VM's objects
 *
 * Fill in @vm, @flags, @num_fences and optionally @extra, then call
 * drm_gpuvm_exec_lock() or one of its variants; release with
 * drm_gpuvm_exec_unlock().
 */
struct drm_gpuvm_exec {
	/**
	 * @exec: the &drm_exec context
	 */
	struct drm_exec exec;

	/**
	 * @flags: flags for drm_exec_init()
	 */
	u32 flags;

	/**
	 * @vm: the VA space whose objects are locked
	 */
	struct drm_gpuvm *vm;

	/**
	 * @num_fences: fence slots to reserve on every locked object; 0
	 * locks them without reserving any
	 */
	unsigned int num_fences;

	/**
	 * @extra: a driver hook locking more objects in the same transaction
	 */
	struct {
		/**
		 * @extra.fn: called after the VM's own objects are prepared;
		 * returns 0 or a negative errno (-EDEADLK included)
		 */
		int (*fn)(struct drm_gpuvm_exec *vm_exec);

		/**
		 * @extra.priv: data for @extra.fn
		 */
		void *priv;
	} extra;
};

int drm_gpuvm_prepare_vm(struct drm_gpuvm *gpuvm, struct drm_exec *exec,
			 unsigned int num_fences);
int drm_gpuvm_prepare_objects(struct drm_gpuvm *gpuvm, struct drm_exec *exec,
			      unsigned int num_fences);
int drm_gpuvm_prepare_range(struct drm_gpuvm *gpuvm, struct drm_exec *exec,
			    u64 addr, u64 range, unsigned int num_fences);

int drm_gpuvm_exec_lock(struct drm_gpuvm_exec *vm_exec);
int drm_gpuvm_exec_lock_array(struct drm_gpuvm_exec *vm_exec,
			      struct drm_gem_object **objs,
			      unsigned int num_objs);
int drm_gpuvm_exec_lock_range(struct drm_gpuvm_exec *vm_exec,
			      u64 addr, u64 range);

/**
 * drm_gpuvm_exec_unlock() - release everything drm_gpuvm_exec_lock() took
 * @vm_exec: the context
 */
static inline void drm_gpuvm_exec_unlock(struct drm_gpuvm_exec *vm_exec)
{
	drm_exec_fini(&vm_exec->exec);
}

int drm_gpuvm_validate(struct drm_gpuvm *gpuvm, struct drm_exec *exec);
void drm_gpuvm_resv_add_fence(struct drm_gpuvm *gpuvm,
			      struct drm_exec *exec,
			      struct dma_fence *fence,
			      enum dma_resv_usage private_usage,
			      enum dma_resv_usage extobj_usage);

/**
 * drm_gpuvm_exec_validate() - validate the evicted objects of a locked VM
 * @vm_exec: a context locked with drm_gpuvm_exec_lock()
 *
 * Return: as drm_gpuvm_validate().
 */
static inline int drm_gpuvm_exec_validate(struct drm_gpuvm_exec *vm_exec)
{
	return drm_gpuvm_validate(vm_exec->vm, &vm_exec->exec);
}

/**
 * drm_gpuvm_exec_resv_add_fence() - fence every object of a locked VM
 * @vm_exec: a context locked with drm_gpuvm_exec_lock()
 * @fence: the fence to add
 * @private_usage: usage for the VM's common dma-resv
 * @extobj_usage: usage for the external objects
 */
static inline void
drm_gpuvm_exec_resv_add_fence(struct drm_gpuvm_exec *vm_exec,
			      struct dma_fence *fence,
			      enum dma_resv_usage private_usage,
			      enum dma_resv_usage extobj_usage)
{
	drm_gpuvm_resv_add_fence(vm_exec->vm, &vm_exec->exec, fence,
				 private_usage, extobj_usage);
}

/**
 * struct drm_gpuvm_bo - the link between one VM and one GEM object
 *
 * There is at most one per (VM, GEM) pair. It sits on the GEM object's
 * list of VMs, holds the mappings of that object in that VM, and is what
 * the VM puts on its external and evicted lists.
 */
struct drm_gpuvm_bo {
	/**
	 * @vm: the VA space; the vm_bo holds a reference on it
	 */
	struct drm_gpuvm *vm;

	/**
	 * @obj: the GEM object; the vm_bo holds a reference on it
	 */
	struct drm_gem_object *obj;

	/**
	 * @evicted: the object was evicted and waits for validation
	 */
	bool evicted;

	/**
	 * @kref: reference count; each linked &drm_gpuva holds one
	 */
	struct kref kref;

	/**
	 * @list: list heads and list nodes
	 */
	struct {
		/**
		 * @list.gpuva: the &drm_gpuva mappings of @obj in @vm,
		 * protected by the GEM object's gpuva lock
		 */
		struct list_head gpuva;

		/**
		 * @list.entry: nodes in other lists
		 */
		struct {
			/**
			 * @list.entry.gem: node in the GEM object's list
			 */
			struct list_head gem;

			/**
			 * @list.entry.extobj: node in the VM's external
			 * object list
			 */
			struct list_head extobj;

			/**
			 * @list.entry.evict: node in the VM's evicted list
			 */
			struct list_head evict;
		} entry;
	} list;
};

struct drm_gpuvm_bo *drm_gpuvm_bo_create(struct drm_gpuvm *gpuvm,
					 struct drm_gem_object *obj);
struct drm_gpuvm_bo *drm_gpuvm_bo_obtain(struct drm_gpuvm *gpuvm,
					 struct drm_gem_object *obj);
struct drm_gpuvm_bo *drm_gpuvm_bo_obtain_prealloc(struct drm_gpuvm_bo *vm_bo);
struct drm_gpuvm_bo *drm_gpuvm_bo_find(struct drm_gpuvm *gpuvm,
				       struct drm_gem_object *obj);

/**
 * drm_gpuvm_bo_get() - take a reference on a vm_bo
 * @vm_bo: the vm_bo
 *
 * Return: @vm_bo.
 */
static inline struct drm_gpuvm_bo *drm_gpuvm_bo_get(struct drm_gpuvm_bo *vm_bo)
{
	kref_get(&vm_bo->kref);
	return vm_bo;
}

bool drm_gpuvm_bo_put(struct drm_gpuvm_bo *vm_bo);

void drm_gpuvm_bo_extobj_add(struct drm_gpuvm_bo *vm_bo);
void drm_gpuvm_bo_evict(struct drm_gpuvm_bo *vm_bo, bool evict);
void drm_gpuvm_bo_gem_evict(struct drm_gem_object *obj, bool evict);

/**
 * drm_gpuvm_bo_for_each_va() - walk the mappings of a vm_bo
 * @va__: &drm_gpuva cursor
 * @vm_bo__: the &drm_gpuvm_bo
 *
 * The caller holds the GEM object's gpuva lock.
 */
#define drm_gpuvm_bo_for_each_va(va__, vm_bo__) \
	list_for_each_entry(va__, &(vm_bo__)->list.gpuva, gem.entry)

/**
 * drm_gpuvm_bo_for_each_va_safe() - walk the mappings of a vm_bo, allowing
 * removal of the current one
 * @va__: &drm_gpuva cursor
 * @next__: &drm_gpuva holding the next entry
 * @vm_bo__: the &drm_gpuvm_bo
 *
 * The caller holds the GEM object's gpuva lock.
 */
#define drm_gpuvm_bo_for_each_va_safe(va__, next__, vm_bo__) \
	list_for_each_entry_safe(va__, next__, &(vm_bo__)->list.gpuva, gem.entry)

/**
 * enum drm_gpuva_op_type - kind of a &drm_gpuva_op
 */
enum drm_gpuva_op_type {
	/**
	 * @DRM_GPUVA_OP_MAP: create a mapping
	 */
	DRM_GPUVA_OP_MAP,

	/**
	 * @DRM_GPUVA_OP_REMAP: replace a mapping by what is left of it
	 */
	DRM_GPUVA_OP_REMAP,

	/**
	 * @DRM_GPUVA_OP_UNMAP: remove a mapping
	 */
	DRM_GPUVA_OP_UNMAP,

	/**
	 * @DRM_GPUVA_OP_PREFETCH: make a mapping's memory resident
	 */
	DRM_GPUVA_OP_PREFETCH,
};

/**
 * struct drm_gpuva_op_map - a mapping to create
 */
struct drm_gpuva_op_map {
	/**
	 * @va: the address interval
	 */
	struct {
		/**
		 * @va.addr: first address
		 */
		u64 addr;

		/**
		 * @va.range: size in bytes
		 */
		u64 range;
	} va;

	/**
	 * @gem: the backing memory
	 */
	struct {
		/**
		 * @gem.offset: byte offset into @gem.obj of @va.addr
		 */
		u64 offset;

		/**
		 * @gem.obj: the GEM object, NULL for a sparse mapping
		 */
		struct drm_gem_object *obj;
	} gem;
};

/**
 * struct drm_gpuva_op_unmap - a mapping to remove
 */
struct drm_gpuva_op_unmap {
	/**
	 * @va: the mapping
	 */
	struct drm_gpuva *va;

	/**
	 * @keep: the mapping that replaces @va points at the same memory for
	 * every address they share, so those page-table entries may stay
	 */
	bool keep;
};

/**
 * struct drm_gpuva_op_remap - a mapping cut by a request
 *
 * The mapping @unmap->va goes away; @prev is the piece of it below the
 * request and @next the piece above, each NULL when there is none.
 */
struct drm_gpuva_op_remap {
	/**
	 * @prev: the surviving lower part, or NULL
	 */
	struct drm_gpuva_op_map *prev;

	/**
	 * @next: the surviving upper part, or NULL
	 */
	struct drm_gpuva_op_map *next;

	/**
	 * @unmap: the mapping being replaced
	 */
	struct drm_gpuva_op_unmap *unmap;
};

/**
 * struct drm_gpuva_op_prefetch - a mapping to make resident
 */
struct drm_gpuva_op_prefetch {
	/**
	 * @va: the mapping
	 */
	struct drm_gpuva *va;
};

/**
 * struct drm_gpuva_op - one step of a split/merge or prefetch plan
 */
struct drm_gpuva_op {
	/**
	 * @entry: node in &drm_gpuva_ops.list
	 */
	struct list_head entry;

	/**
	 * @op: which member of the union is valid
	 */
	enum drm_gpuva_op_type op;

	union {
		/**
		 * @map: for %DRM_GPUVA_OP_MAP
		 */
		struct drm_gpuva_op_map map;

		/**
		 * @remap: for %DRM_GPUVA_OP_REMAP
		 */
		struct drm_gpuva_op_remap remap;

		/**
		 * @unmap: for %DRM_GPUVA_OP_UNMAP
		 */
		struct drm_gpuva_op_unmap unmap;

		/**
		 * @prefetch: for %DRM_GPUVA_OP_PREFETCH
		 */
		struct drm_gpuva_op_prefetch prefetch;
	};
};

/**
 * struct drm_gpuva_ops - an ordered list of &drm_gpuva_op
 */
struct drm_gpuva_ops {
	/**
	 * @list: the &drm_gpuva_op entries, in the order to apply them
	 */
	struct list_head list;
};

/**
 * drm_gpuva_for_each_op() - walk the steps of a plan
 * @op: &drm_gpuva_op cursor
 * @ops: the &drm_gpuva_ops
 */
#define drm_gpuva_for_each_op(op, ops) list_for_each_entry(op, &(ops)->list, entry)

/**
 * drm_gpuva_for_each_op_safe() - walk the steps of a plan, allowing removal
 * @op: &drm_gpuva_op cursor
 * @next: &drm_gpuva_op holding the next step
 * @ops: the &drm_gpuva_ops
 */
#define drm_gpuva_for_each_op_safe(op, next, ops) \
	list_for_each_entry_safe(op, next, &(ops)->list, entry)

/**
 * drm_gpuva_for_each_op_from_reverse() - walk backwards from a step
 * @op: &drm_gpuva_op cursor, the step to start from
 * @ops: the &drm_gpuva_ops
 *
 * Starts at @op itself and goes towards the head, e.g. to undo the steps
 * already applied when a later one failed.
 */
#define drm_gpuva_for_each_op_from_reverse(op, ops) \
	list_for_each_entry_from_reverse(op, &(ops)->list, entry)

/**
 * drm_gpuva_for_each_op_reverse() - walk the steps of a plan backwards
 * @op: &drm_gpuva_op cursor
 * @ops: the &drm_gpuva_ops
 */
#define drm_gpuva_for_each_op_reverse(op, ops) \
	list_for_each_entry_reverse(op, &(ops)->list, entry)

/**
 * drm_gpuva_first_op() - first step of a plan
 * @ops: the &drm_gpuva_ops
 */
#define drm_gpuva_first_op(ops) \
	list_first_entry(&(ops)->list, struct drm_gpuva_op, entry)

/**
 * drm_gpuva_last_op() - last step of a plan
 * @ops: the &drm_gpuva_ops
 */
#define drm_gpuva_last_op(ops) \
	list_last_entry(&(ops)->list, struct drm_gpuva_op, entry)

/**
 * drm_gpuva_prev_op() - step before a step
 * @op: the &drm_gpuva_op
 */
#define drm_gpuva_prev_op(op) list_prev_entry(op, entry)

/**
 * drm_gpuva_next_op() - step after a step
 * @op: the &drm_gpuva_op
 */
#define drm_gpuva_next_op(op) list_next_entry(op, entry)

struct drm_gpuva_ops *
drm_gpuvm_sm_map_ops_create(struct drm_gpuvm *gpuvm,
			    u64 addr, u64 range,
			    struct drm_gem_object *obj, u64 offset);
struct drm_gpuva_ops *
drm_gpuvm_sm_unmap_ops_create(struct drm_gpuvm *gpuvm,
			      u64 addr, u64 range);
struct drm_gpuva_ops *
drm_gpuvm_prefetch_ops_create(struct drm_gpuvm *gpuvm,
			      u64 addr, u64 range);
struct drm_gpuva_ops *
drm_gpuvm_bo_unmap_ops_create(struct drm_gpuvm_bo *vm_bo);
void drm_gpuva_ops_free(struct drm_gpuvm *gpuvm, struct drm_gpuva_ops *ops);

/**
 * drm_gpuva_init() - describe a mapping before it is inserted
 * @va: the mapping to fill
 * @addr: its first address
 * @range: its size in bytes
 * @obj: the GEM object behind it, or NULL for a sparse mapping
 * @offset: byte offset into @obj of @addr
 *
 * Sets the interval and the backing memory; leaves every other field.
 */
static inline void drm_gpuva_init(struct drm_gpuva *va, u64 addr, u64 range,
				  struct drm_gem_object *obj, u64 offset)
{
	va->va.addr = addr;
	va->va.range = range;
	va->gem.obj = obj;
	va->gem.offset = offset;
}

/**
 * drm_gpuva_init_from_op() - fill a mapping from a map step
 * @va: the mapping to fill
 * @op: the step
 *
 * drm_gpuva_init() with the interval and memory of @op.
 */
static inline void drm_gpuva_init_from_op(struct drm_gpuva *va,
					  struct drm_gpuva_op_map *op)
{
	drm_gpuva_init(va, op->va.addr, op->va.range, op->gem.obj,
		       op->gem.offset);
}

/**
 * struct drm_gpuvm_ops - the driver's callbacks
 *
 * Only @vm_free is required. The sm_step callbacks are needed by
 * drm_gpuvm_sm_map() and drm_gpuvm_sm_unmap(), @vm_bo_validate by
 * drm_gpuvm_validate().
 */
struct drm_gpuvm_ops {
	/**
	 * @vm_free: frees the driver structure around the &drm_gpuvm once
	 * its last reference is gone
	 */
	void (*vm_free)(struct drm_gpuvm *gpuvm);

	/**
	 * @op_alloc: allocates a &drm_gpuva_op, for drivers that embed it in
	 * a larger structure (GPUVM fills every field of it); kzalloc() when
	 * NULL
	 */
	struct drm_gpuva_op *(*op_alloc)(void);

	/**
	 * @op_free: frees what @op_alloc returned; kfree() when NULL
	 */
	void (*op_free)(struct drm_gpuva_op *op);

	/**
	 * @vm_bo_alloc: allocates a zeroed &drm_gpuvm_bo, for drivers that
	 * embed it; kzalloc() when NULL
	 */
	struct drm_gpuvm_bo *(*vm_bo_alloc)(void);

	/**
	 * @vm_bo_free: frees what @vm_bo_alloc returned; kfree() when NULL
	 */
	void (*vm_bo_free)(struct drm_gpuvm_bo *vm_bo);

	/**
	 * @vm_bo_validate: makes an evicted object usable again; called by
	 * drm_gpuvm_validate() with the object locked in @exec
	 */
	int (*vm_bo_validate)(struct drm_gpuvm_bo *vm_bo,
			      struct drm_exec *exec);

	/**
	 * @sm_step_map: applies a %DRM_GPUVA_OP_MAP step of
	 * drm_gpuvm_sm_map(); @priv is the pointer given to it
	 */
	int (*sm_step_map)(struct drm_gpuva_op *op, void *priv);

	/**
	 * @sm_step_remap: applies a %DRM_GPUVA_OP_REMAP step
	 */
	int (*sm_step_remap)(struct drm_gpuva_op *op, void *priv);

	/**
	 * @sm_step_unmap: applies a %DRM_GPUVA_OP_UNMAP step
	 */
	int (*sm_step_unmap)(struct drm_gpuva_op *op, void *priv);
};

int drm_gpuvm_sm_map(struct drm_gpuvm *gpuvm, void *priv,
		     u64 addr, u64 range,
		     struct drm_gem_object *obj, u64 offset);
int drm_gpuvm_sm_unmap(struct drm_gpuvm *gpuvm, void *priv,
		       u64 addr, u64 range);

void drm_gpuva_map(struct drm_gpuvm *gpuvm,
		   struct drm_gpuva *va,
		   struct drm_gpuva_op_map *op);
void drm_gpuva_remap(struct drm_gpuva *prev,
		     struct drm_gpuva *next,
		     struct drm_gpuva_op_remap *op);
void drm_gpuva_unmap(struct drm_gpuva_op_unmap *op);

/**
 * drm_gpuva_op_remap_to_unmap_range() - the interval a remap step unmaps
 * @op: the remap step
 * @start_addr: set to the first address that loses its mapping
 * @range: set to the size of that interval
 *
 * The interval is the old mapping less the pieces that survive as
 * @op->prev and @op->next.
 */
static inline void
drm_gpuva_op_remap_to_unmap_range(const struct drm_gpuva_op_remap *op,
				  u64 *start_addr, u64 *range)
{
	const struct drm_gpuva *va = op->unmap->va;
	u64 start = op->prev ? op->prev->va.addr + op->prev->va.range :
			       va->va.addr;
	u64 end = op->next ? op->next->va.addr : va->va.addr + va->va.range;

	if (start_addr)
		*start_addr = start;
	if (range)
		*range = end - start;
}

#endif /* __DRM_GPUVM_H__ */
