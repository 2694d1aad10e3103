/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kernel types the exec program (exec.bpf.c, GPL-2.0) reads, declared by us instead of a
 * vmlinux.h dumped from some machine's kernel: each struct names only the fields the program
 * reads, and is marked preserve_access_index, so clang records every access to it as a CO-RE
 * relocation (a struct, a field name, a path through members) rather than a fixed offset.
 * libbpf resolves those at load time against the running kernel's own BTF
 * (/sys/kernel/btf/vmlinux), by name, on any architecture and any kernel version. Nothing
 * here depends on the machine that builds the object: not its kernel, not its architecture,
 * not bpftool. The layout declared here (which fields, in which order) is therefore not the
 * kernel's, and need not be, with two exceptions:
 *
 *   - a field's size is ours: bpf_probe_read_kernel copies sizeof the field as declared
 *     here, so each field has the kernel's type width (on 64-bit kernels, which are the only
 *     ones the agent supports: amd64 and arm64);
 *   - a struct the program copies whole onto its stack (upid, timespec64) is declared whole,
 *     in the kernel's order, since the copy is sizeof the struct as declared here.
 *
 * A field that a kernel version renamed is read through a "shadow" struct in exec.bpf.c
 * (struct name___suffix: libbpf ignores the suffix when it looks for the kernel's type), with
 * bpf_core_field_exists choosing the variant. An enum value is declared here only by name:
 * the program reads it with bpf_core_enum_value, which libbpf replaces with the running
 * kernel's value, so the number written below is never used.
 *
 * What each field is, and since when it exists in that form (the program needs 5.8 anyway):
 * linux/sched.h, linux/cred.h, linux/binfmts.h, linux/fs.h, linux/dcache.h, linux/mount.h
 * and fs/mount.h, linux/fdtable.h, linux/fs_struct.h, linux/nsproxy.h, linux/ns_common.h,
 * linux/pid.h, linux/cgroup-defs.h, linux/kernfs.h, linux/mm_types.h, net/sock.h,
 * linux/net.h in the kernel's source.
 *
 * Adding a field: declare it with the kernel's type, then check the object against kernels'
 * BTF (the running one's /sys/kernel/btf/vmlinux, or the .BTF of another architecture's or
 * version's kernel image): `bpftool -d gen min_core_btf <kernel BTF> /tmp/min.btf <object>`
 * prints each relocation and the field it matched; one with no match must be a variant
 * guarded by bpf_core_field_exists. test/processes/ebpf-object.test.ts builds the object for
 * amd64 and arm64 and loads it on the test machine's kernel.
 */
#ifndef NODEWARD_CORE_H
#define NODEWARD_CORE_H

#define NW_CORE __attribute__((preserve_access_index))

/* Fixed-width integers (what linux/types.h would give; libbpf's headers use them). */
typedef signed char __s8;
typedef unsigned char __u8;
typedef short __s16;
typedef unsigned short __u16;
typedef int __s32;
typedef unsigned int __u32;
typedef long long __s64;
typedef unsigned long long __u64;
typedef __u16 __be16;
typedef __u32 __be32;
typedef __u32 __wsum;

/* The kernel's own names for the types of the fields below. */
typedef __u32 u32;
typedef __u64 u64;
typedef __s64 time64_t;
typedef unsigned short umode_t;
typedef int pid_t;
typedef long long loff_t;
typedef __u32 dev_t;

/* The two BPF map types the program declares (linux/bpf.h, enum bpf_map_type: UAPI, fixed). */
enum bpf_map_type {
	BPF_MAP_TYPE_PERCPU_ARRAY = 6,
	BPF_MAP_TYPE_RINGBUF = 27,
};

/* kuid_t and kgid_t wrap the id in a struct so that kernel code cannot mix them up. */
typedef struct {
	__u32 val;
} NW_CORE kuid_t;

typedef struct {
	__u32 val;
} NW_CORE kgid_t;

/* Copied whole (inode times before 6.11): the kernel's layout. */
struct timespec64 {
	time64_t tv_sec;
	long tv_nsec;
} NW_CORE;

struct task_struct;
struct pid_namespace;

struct cred {
	kuid_t uid;
	kgid_t gid;
	kuid_t euid;
	kgid_t egid;
} NW_CORE;

struct super_block {
	dev_t s_dev;
	unsigned long s_magic;
} NW_CORE;

/* The four fields read directly; the times are read through exec.bpf.c's shadow structs. */
struct inode {
	umode_t i_mode;
	struct super_block *i_sb;
	unsigned long i_ino;
	unsigned int __i_nlink; /* in a union with the const i_nlink */
	loff_t i_size;
} NW_CORE;

/* A dentry's name: its length shares a word with the hash in the kernel. */
struct qstr {
	u32 len;
	const unsigned char *name;
} NW_CORE;

struct hlist_bl_node {
	struct hlist_bl_node *next;
	struct hlist_bl_node **pprev;
} NW_CORE;

struct dentry {
	struct hlist_bl_node d_hash;
	struct dentry *d_parent;
	struct qstr d_name;
} NW_CORE;

struct vfsmount {
	struct dentry *mnt_root;
} NW_CORE;

/* fs/mount.h: the mount a vfsmount is embedded in (container_of through `mnt`). */
struct mount {
	struct mount *mnt_parent;
	struct dentry *mnt_mountpoint;
	struct vfsmount mnt;
} NW_CORE;

struct path {
	struct vfsmount *mnt;
	struct dentry *dentry;
} NW_CORE;

struct file {
	struct path f_path;
	struct inode *f_inode;
	void *private_data;
} NW_CORE;

struct sock_common {
	unsigned short skc_family;
} NW_CORE;

struct sock {
	struct sock_common __sk_common;
} NW_CORE;

struct socket {
	struct file *file;
	struct sock *sk;
} NW_CORE;

struct fdtable {
	unsigned int max_fds;
	struct file **fd;
} NW_CORE;

struct files_struct {
	struct fdtable *fdt;
} NW_CORE;

struct fs_struct {
	struct path root;
} NW_CORE;

struct ns_common {
	unsigned int inum;
} NW_CORE;

struct mnt_namespace {
	struct ns_common ns;
} NW_CORE;

struct nsproxy {
	struct mnt_namespace *mnt_ns;
} NW_CORE;

struct pid_namespace {
	struct ns_common ns;
} NW_CORE;

/* Copied whole (one level of a pid): the kernel's layout. */
struct upid {
	int nr;
	struct pid_namespace *ns;
} NW_CORE;

struct pid {
	unsigned int level;
	struct upid numbers[]; /* one per pid namespace level, the struct's last member */
} NW_CORE;

/* kernfs_node's parent is `__parent` from 6.15, `parent` before (exec.bpf.c's shadow). */
struct kernfs_node {
	struct kernfs_node *__parent;
	const char *name;
	u64 id; /* the cgroup id of a cgroup's directory */
} NW_CORE;

struct cgroup_root {
	int hierarchy_id;
} NW_CORE;

struct cgroup {
	struct kernfs_node *kn;
	struct cgroup_root *root;
} NW_CORE;

struct cgroup_subsys_state {
	struct cgroup *cgroup;
} NW_CORE;

/*
 * subsys[] has one slot per controller built into the kernel (CGROUP_SUBSYS_COUNT, which
 * differs between kernels); the program indexes it with the kernel's memory_cgrp_id, masked
 * to this bound, and reads the slot with bpf_core_read, so the bound here only has to cover
 * the mask.
 */
struct css_set {
	struct cgroup_subsys_state *subsys[16];
	struct cgroup *dfl_cgrp;
} NW_CORE;

/* Only the name matters: the value is the running kernel's (bpf_core_enum_value). */
enum cgroup_subsys_id {
	memory_cgrp_id = 0,
};

struct mm_struct {
	unsigned long arg_start;
	unsigned long arg_end;
} NW_CORE;

struct linux_binprm {
	struct file *file;
	const char *filename;
} NW_CORE;

struct task_struct {
	pid_t pid;
	pid_t tgid;
	struct task_struct *real_parent;
	struct pid *thread_pid;
	u64 start_boottime;
	const struct cred *cred;
	char comm[16]; /* TASK_COMM_LEN */
	struct fs_struct *fs;
	struct files_struct *files;
	struct nsproxy *nsproxy;
	struct css_set *cgroups;
	struct mm_struct *mm;
} NW_CORE;

#endif
