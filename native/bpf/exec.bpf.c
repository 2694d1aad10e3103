// SPDX-License-Identifier: GPL-2.0
/*
 * nodeward exec capture: one record per exec, written in the kernel at the moment of the
 * exec (tp_btf/sched_process_exec), so a process that lives a microsecond is described as
 * fully as one that lives a day. What /proc would say later is taken now from the task,
 * its new credentials and memory map, and the file being run:
 *
 *   - the file's canonical path: the name execve was given (bprm->filename) can be
 *     /proc/self/fd/5 or a relative path, so the path is rebuilt from bprm->file's dentry,
 *     name by name up to the process's root, crossing mounts through struct mount; the walk
 *     is bounded and a cut path is flagged, never passed off as whole;
 *   - its inode, device, link count and filesystem magic (memfd, tmpfs, overlay ...), and
 *     what fstat() on it would say of its content's identity and its mode: size, mtime and
 *     ctime (seconds and nanoseconds, wherever this kernel keeps them), st_mode with its
 *     setuid/setgid bits; the agent caches content digests by (dev, ino, size, mtime, ctime);
 *   - pid, tgid, the real parent's tgid, real and effective uid/gid (a setuid file run by
 *     another user shows both), comm;
 *   - what file descriptors 0, 1 and 2 of the new process are: not open, a socket (and its
 *     address family), a pipe or FIFO, a regular file, a character device, something else
 *     (a shell whose stdio is a TCP socket is a reverse shell);
 *   - the cgroup (id and path on the default hierarchy, and on the v1 memory hierarchy
 *     where one exists), the mount and pid namespace inode numbers;
 *   - argv from the new memory map (arg_start..arg_end), bounded.
 *
 * Records go to a ring buffer; a record the buffer has no room for is counted in a per-CPU
 * counter the agent reads, so a loss is never silent.
 *
 * GPL-2.0: reading task structures uses GPL-only helpers (bpf_probe_read_kernel); the
 * kernel loads such programs only with a GPL-compatible license string.
 */
#include "nodeward_core.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "exec_event.h"

char LICENSE[] SEC("license") = "GPL";

/* Resized by the addon before loading (processes.ringBufferBytes). */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 * 1024 * 1024);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, NW_C_COUNT);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

/* Per-CPU room to assemble a record: far larger than the 512-byte BPF stack. */
struct scratch {
	struct nw_exec_event ev;
	char data[NW_DATA_SIZE];
	char path[NW_PATH_MAX + NW_NAME_MAX + 1];
	char cgroup[NW_CGROUP_MAX + NW_NAME_MAX + 1];
	char name[NW_NAME_MAX + 1];
	/* A walk's write position, kept here rather than in a register across iterations: the
	 * verifier then sees nothing different between one iteration's paths and the next, so
	 * it prunes instead of following every combination of branches. */
	__u32 pos;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch);
} scratch SEC(".maps");

/* Kernels before 6.15 name kernfs_node's parent `parent`; later ones `__parent`. */
struct kernfs_node___old {
	struct kernfs_node *parent;
} __attribute__((preserve_access_index));

/*
 * Inode times, where each kernel keeps them: struct timespec64 i_mtime and i_ctime before
 * 6.6; i_ctime became __i_ctime in 6.6, i_mtime __i_mtime in 6.7; from 6.11 the seconds and
 * nanoseconds are separate fields (i_mtime_sec, i_mtime_nsec ...). The nanoseconds of ctime
 * carry a flag in bit 31 from 6.13 (multigrain timestamps: I_CTIME_QUERIED); a nanosecond
 * count fits in 30 bits, so both are masked to those.
 */
struct inode___sec {
	time64_t i_mtime_sec;
	time64_t i_ctime_sec;
	u32 i_mtime_nsec;
	u32 i_ctime_nsec;
} __attribute__((preserve_access_index));

struct inode___ts67 {
	struct timespec64 __i_mtime;
	struct timespec64 __i_ctime;
} __attribute__((preserve_access_index));

struct inode___ts {
	struct timespec64 i_mtime;
	struct timespec64 i_ctime;
} __attribute__((preserve_access_index));

#define NW_NSEC_MASK 0x3fffffff

/* st_mode's file types (linux/stat.h). */
#define NW_S_IFMT 0170000
#define NW_S_IFSOCK 0140000
#define NW_S_IFREG 0100000
#define NW_S_IFCHR 0020000
#define NW_S_IFIFO 0010000

#define NW_AF_UNIX 1
#define NW_AF_INET 2
#define NW_AF_INET6 10

static __always_inline void count(__u32 which)
{
	__u64 *v = bpf_map_lookup_elem(&counters, &which);
	if (v)
		__sync_fetch_and_add(v, 1);
}

static __always_inline struct kernfs_node *kn_parent(struct kernfs_node *kn)
{
	if (bpf_core_field_exists(kn->__parent))
		return BPF_CORE_READ(kn, __parent);
	return BPF_CORE_READ((struct kernfs_node___old *)kn, parent);
}

/* The file's size, times and mode, as fstat() reports them (generic_fillattr). */
static __always_inline void file_identity(struct nw_exec_event *e, struct inode *inode)
{
	e->size = BPF_CORE_READ(inode, i_size);
	e->mode = BPF_CORE_READ(inode, i_mode);
	struct inode___sec *in = (struct inode___sec *)inode;
	if (bpf_core_field_exists(in->i_mtime_sec)) {
		e->mtime_sec = BPF_CORE_READ(in, i_mtime_sec);
		e->mtime_nsec = BPF_CORE_READ(in, i_mtime_nsec) & NW_NSEC_MASK;
		e->ctime_sec = BPF_CORE_READ(in, i_ctime_sec);
		e->ctime_nsec = BPF_CORE_READ(in, i_ctime_nsec) & NW_NSEC_MASK;
		return;
	}
	struct inode___ts67 *i67 = (struct inode___ts67 *)inode;
	struct inode___ts *its = (struct inode___ts *)inode;
	struct timespec64 ts = {};
	if (bpf_core_field_exists(i67->__i_mtime))
		BPF_CORE_READ_INTO(&ts, i67, __i_mtime);
	else
		BPF_CORE_READ_INTO(&ts, its, i_mtime);
	e->mtime_sec = ts.tv_sec;
	e->mtime_nsec = ts.tv_nsec & NW_NSEC_MASK;
	/* 6.6 has __i_ctime beside i_mtime: ctime is looked for on its own. */
	if (bpf_core_field_exists(i67->__i_ctime))
		BPF_CORE_READ_INTO(&ts, i67, __i_ctime);
	else
		BPF_CORE_READ_INTO(&ts, its, i_ctime);
	e->ctime_sec = ts.tv_sec;
	e->ctime_nsec = ts.tv_nsec & NW_NSEC_MASK;
}

/* What an open file is, as one stdio byte (exec_event.h, NW_FD_*). */
static __always_inline __u8 fd_byte(struct file *f)
{
	if (!f)
		return NW_FD_BYTE(NW_FD_NONE, 0);
	umode_t mode = BPF_CORE_READ(f, f_inode, i_mode);
	switch (mode & NW_S_IFMT) {
	case NW_S_IFSOCK: {
		/* A socket's file points to its struct socket, which points back; an O_PATH
		 * descriptor of a unix socket's name on a filesystem has the type without being one. */
		struct socket *sock = BPF_CORE_READ(f, private_data);
		if (!sock || BPF_CORE_READ(sock, file) != f)
			return NW_FD_BYTE(NW_FD_OTHER, 0);
		__u16 family = BPF_CORE_READ(sock, sk, __sk_common.skc_family);
		__u8 fam = family == NW_AF_UNIX ? NW_FAM_UNIX : family == NW_AF_INET ? NW_FAM_INET : family == NW_AF_INET6 ? NW_FAM_INET6 : NW_FAM_OTHER;
		return NW_FD_BYTE(NW_FD_SOCKET, fam);
	}
	case NW_S_IFIFO:
		return NW_FD_BYTE(NW_FD_PIPE, 0);
	case NW_S_IFREG:
		return NW_FD_BYTE(NW_FD_FILE, 0);
	case NW_S_IFCHR:
		return NW_FD_BYTE(NW_FD_CHARDEV, 0);
	default:
		return NW_FD_BYTE(NW_FD_OTHER, 0);
	}
}

/*
 * Descriptors 0, 1 and 2 of the new process. The exec has already closed its close-on-exec
 * descriptors and unshared the table, so what is here is what the program starts with.
 */
static __always_inline void stdio_kinds(struct nw_exec_event *e, struct task_struct *task)
{
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
	struct file **fd = BPF_CORE_READ(fdt, fd);
	unsigned int max = BPF_CORE_READ(fdt, max_fds);
	for (int i = 0; i < 3; i++) {
		struct file *f = 0;
		if (!fd) {
			e->stdio[i] = NW_FD_BYTE(NW_FD_UNREAD, 0);
			continue;
		}
		if ((unsigned int)i < max && bpf_probe_read_kernel(&f, sizeof(f), &fd[i]) != 0) {
			e->stdio[i] = NW_FD_BYTE(NW_FD_UNREAD, 0);
			continue;
		}
		e->stdio[i] = fd_byte(f);
	}
}

/*
 * The path of bprm->file as the process sees it, written backwards into s->path so that it
 * ends at NW_PATH_MAX; returns where it starts. The walk stops at the process's root, or at
 * the root of a mount namespace (the file is then outside the process's view: a memfd's
 * internal mount, a detached mount), flagged.
 */
static __always_inline __u32 file_path(struct scratch *s, struct task_struct *task, struct file *file, __u32 *flags)
{
	__u64 mnt_offset = bpf_core_field_offset(struct mount, mnt);
	struct dentry *d = BPF_CORE_READ(file, f_path.dentry);
	struct vfsmount *vm = BPF_CORE_READ(file, f_path.mnt);
	struct mount *m = (struct mount *)((char *)vm - mnt_offset);
	struct dentry *root_d = BPF_CORE_READ(task, fs, root.dentry);
	struct vfsmount *root_m = BPF_CORE_READ(task, fs, root.mnt);
	int done = 0;

	s->pos = NW_PATH_MAX;
	if (!BPF_CORE_READ(d, d_hash.pprev) && d != BPF_CORE_READ(d, d_parent))
		*flags |= NW_F_UNLINKED;

	for (int i = 0; i < NW_PATH_DEPTH; i++) {
		if (d == root_d && vm == root_m) {
			done = 1;
			break;
		}
		struct dentry *parent = BPF_CORE_READ(d, d_parent);
		if (d == BPF_CORE_READ(vm, mnt_root)) {
			struct mount *up = BPF_CORE_READ(m, mnt_parent);
			if (up == m) {
				/* The root of a mount namespace that is not the process's root. */
				*flags |= NW_F_PATH_DETACHED;
				done = 1;
				break;
			}
			d = BPF_CORE_READ(m, mnt_mountpoint);
			m = up;
			vm = (struct vfsmount *)((char *)up + mnt_offset);
			continue;
		}
		/* A dentry that is its own parent without being a mount's root has no name above
		 * it: a pseudo file (memfd, anonymous) or a disconnected one. Its own name is kept
		 * (as /proc/<pid>/exe shows a memfd: /memfd:<name>) and the walk ends there. */
		int last = d == parent;
		__u32 len = BPF_CORE_READ(d, d_name.len);
		const unsigned char *name = BPF_CORE_READ(d, d_name.name);
		if (len > NW_NAME_MAX) {
			len = NW_NAME_MAX;
			*flags |= NW_F_PATH_TRUNCATED;
		}
		__u32 pos = s->pos;
		if (len + 2 > pos) {
			*flags |= NW_F_PATH_TRUNCATED;
			done = 1;
			break;
		}
		pos -= len;
		bpf_probe_read_kernel(&s->path[pos & (NW_PATH_MAX - 1)], len & NW_NAME_MAX, name);
		pos -= 1;
		s->path[pos & (NW_PATH_MAX - 1)] = '/';
		s->pos = pos;
		if (last) {
			*flags |= NW_F_PATH_DETACHED;
			done = 1;
			break;
		}
		d = parent;
	}
	if (!done)
		*flags |= NW_F_PATH_TRUNCATED;
	__u32 pos = s->pos;
	if (pos == NW_PATH_MAX) {
		pos -= 1;
		s->path[pos & (NW_PATH_MAX - 1)] = '/';
	}
	return pos;
}

/* A cgroup's path from its kernfs node, written backwards into s->cgroup; returns where it starts. */
static __always_inline __u32 cgroup_path(struct scratch *s, struct kernfs_node *kn, __u32 *flags)
{
	int done = 0;

	s->pos = NW_CGROUP_MAX;
	for (int i = 0; i < NW_CGROUP_DEPTH; i++) {
		struct kernfs_node *parent = kn_parent(kn);
		if (!parent) {
			done = 1;
			break;
		}
		const char *name = BPF_CORE_READ(kn, name);
		long n = bpf_probe_read_kernel_str(s->name, sizeof(s->name), name);
		if (n <= 1) {
			kn = parent;
			continue;
		}
		__u32 len = (__u32)n - 1;
		__u32 pos = s->pos;
		if (len + 2 > pos) {
			*flags |= NW_F_CGROUP_TRUNCATED;
			done = 1;
			break;
		}
		pos -= len;
		bpf_probe_read_kernel(&s->cgroup[pos & (NW_CGROUP_MAX - 1)], len & NW_NAME_MAX, s->name);
		pos -= 1;
		s->cgroup[pos & (NW_CGROUP_MAX - 1)] = '/';
		s->pos = pos;
		kn = parent;
	}
	if (!done)
		*flags |= NW_F_CGROUP_TRUNCATED;
	__u32 pos = s->pos;
	if (pos == NW_CGROUP_MAX) {
		pos -= 1;
		s->cgroup[pos & (NW_CGROUP_MAX - 1)] = '/';
	}
	return pos;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(nodeward_exec, struct task_struct *task, pid_t old_pid, struct linux_binprm *bprm)
{
	__u32 zero = 0;
	struct scratch *s = bpf_map_lookup_elem(&scratch, &zero);
	if (!s)
		return 0;
	count(NW_C_SEEN);

	struct nw_exec_event *e = &s->ev;
	__u32 flags = 0;
	e->ktime_ns = bpf_ktime_get_ns();
	e->start_boottime_ns = BPF_CORE_READ(task, start_boottime);
	e->pid = BPF_CORE_READ(task, pid);
	e->tgid = BPF_CORE_READ(task, tgid);
	e->ppid = BPF_CORE_READ(task, real_parent, tgid);
	e->old_pid = old_pid;
	/* The new credentials: committed before this tracepoint fires. */
	const struct cred *cred = BPF_CORE_READ(task, cred);
	e->uid = BPF_CORE_READ(cred, uid.val);
	e->euid = BPF_CORE_READ(cred, euid.val);
	e->gid = BPF_CORE_READ(cred, gid.val);
	e->egid = BPF_CORE_READ(cred, egid.val);
	BPF_CORE_READ_STR_INTO(&e->comm, task, comm);

	struct file *file = BPF_CORE_READ(bprm, file);
	struct inode *inode = BPF_CORE_READ(file, f_inode);
	e->ino = BPF_CORE_READ(inode, i_ino);
	e->nlink = BPF_CORE_READ(inode, __i_nlink);
	e->dev = BPF_CORE_READ(inode, i_sb, s_dev);
	e->fs_magic = BPF_CORE_READ(inode, i_sb, s_magic);
	file_identity(e, inode);
	stdio_kinds(e, task);

	e->mnt_ns = BPF_CORE_READ(task, nsproxy, mnt_ns, ns.inum);
	/* The pid namespace the process lives in (not the one its children would get). */
	struct pid *tp = BPF_CORE_READ(task, thread_pid);
	unsigned int level = BPF_CORE_READ(tp, level);
	struct upid up = {};
	bpf_core_read(&up, sizeof(up), &tp->numbers[level & 31]);
	e->pid_ns = BPF_CORE_READ(up.ns, ns.inum);

	/* cgroups: the default hierarchy, and the v1 memory hierarchy where it is separate. */
	struct css_set *cs = BPF_CORE_READ(task, cgroups);
	struct kernfs_node *dfl_kn = BPF_CORE_READ(cs, dfl_cgrp, kn);
	e->cgroup_id = BPF_CORE_READ(dfl_kn, id);
	struct kernfs_node *v1_kn = 0;
	e->cgroup_v1_id = 0;
	e->cgroup_v1_hierarchy = 0;
	if (bpf_core_enum_value_exists(enum cgroup_subsys_id, memory_cgrp_id)) {
		int id = bpf_core_enum_value(enum cgroup_subsys_id, memory_cgrp_id);
		struct cgroup_subsys_state *css = 0;
		bpf_core_read(&css, sizeof(css), &cs->subsys[id & 15]);
		struct cgroup *cg = BPF_CORE_READ(css, cgroup);
		int hierarchy = BPF_CORE_READ(cg, root, hierarchy_id);
		if (cg && hierarchy != 0) {
			v1_kn = BPF_CORE_READ(cg, kn);
			e->cgroup_v1_id = BPF_CORE_READ(v1_kn, id);
			e->cgroup_v1_hierarchy = hierarchy;
		}
	}

	/* The variable parts, back to back. */
	__u32 off = 0;
	__u32 pos = file_path(s, task, file, &flags);
	__u32 len = NW_PATH_MAX - pos;
	bpf_probe_read_kernel(&s->data[0], len & (NW_PATH_MAX - 1), &s->path[pos & (NW_PATH_MAX - 1)]);
	e->path_len = len;
	off += len;

	const char *filename = BPF_CORE_READ(bprm, filename);
	long n = bpf_probe_read_kernel_str(&s->data[off & NW_DATA_MASK], NW_FILENAME_MAX, filename);
	len = n > 0 ? (__u32)n - 1 : 0;
	if (n == NW_FILENAME_MAX)
		flags |= NW_F_FILENAME_TRUNCATED;
	e->filename_len = len;
	off += len;

	pos = cgroup_path(s, dfl_kn, &flags);
	len = NW_CGROUP_MAX - pos;
	bpf_probe_read_kernel(&s->data[off & NW_DATA_MASK], len & (NW_CGROUP_MAX - 1), &s->cgroup[pos & (NW_CGROUP_MAX - 1)]);
	e->cgroup_len = len;
	off += len;

	e->cgroup_v1_len = 0;
	if (v1_kn) {
		pos = cgroup_path(s, v1_kn, &flags);
		len = NW_CGROUP_MAX - pos;
		bpf_probe_read_kernel(&s->data[off & NW_DATA_MASK], len & (NW_CGROUP_MAX - 1), &s->cgroup[pos & (NW_CGROUP_MAX - 1)]);
		e->cgroup_v1_len = len;
		off += len;
	}

	/* argv, from the memory map the exec just built. */
	struct mm_struct *mm = BPF_CORE_READ(task, mm);
	unsigned long arg_start = BPF_CORE_READ(mm, arg_start);
	unsigned long arg_end = BPF_CORE_READ(mm, arg_end);
	__u64 want = arg_end > arg_start ? arg_end - arg_start : 0;
	if (want > NW_ARGS_MAX - 1) {
		want = NW_ARGS_MAX - 1;
		flags |= NW_F_ARGS_TRUNCATED;
	}
	len = want;
	if (len > 0 && bpf_probe_read_user(&s->data[off & NW_DATA_MASK], len & (NW_ARGS_MAX - 1), (const void *)arg_start) != 0) {
		len = 0;
		flags |= NW_F_ARGS_UNREADABLE;
	}
	e->args_len = len;
	off += len;

	e->flags = flags;
	/* The header and the data are contiguous in `scratch`: one copy into the ring. */
	if (bpf_ringbuf_output(&events, e, sizeof(*e) + (off & NW_DATA_MASK), 0) != 0)
		count(NW_C_LOST);
	return 0;
}
