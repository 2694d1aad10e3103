/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/*
 * The record the exec program (exec.bpf.c, GPL-2.0) writes to its ring buffer and the
 * addon (src/bpf_exec.cc, Apache-2.0) reads: shared by both, so dual-licensed.
 *
 * One record per exec: a fixed header, then the variable parts back to back in `data`, in
 * this order and with the lengths in the header (no NUL between them): the executable's
 * path, the file name execve was given, the default-hierarchy (v2) cgroup path, the cgroup
 * v1 path (memory controller, when it is not on the default hierarchy), the argv area.
 *
 * The header's layout is fixed by static_asserts in src/bpf_exec.cc, which
 * agent/processes/bpf-record.ts reads at the same offsets: a change here changes all three.
 */
#ifndef NODEWARD_EXEC_EVENT_H
#define NODEWARD_EXEC_EVENT_H

#define NW_PATH_MAX 4096     /* path buffer; the longest path kept is NW_PATH_MAX - 1 */
#define NW_PATH_DEPTH 64     /* dentries and mount crossings walked at most */
#define NW_NAME_MAX 255      /* a component longer than this is cut (and flagged) */
#define NW_CGROUP_MAX 1024   /* cgroup path buffer */
#define NW_CGROUP_DEPTH 24   /* cgroup levels walked at most */
#define NW_FILENAME_MAX 512  /* the file name execve was given, with its NUL */
#define NW_ARGS_MAX 4096     /* argv bytes kept at most, NULs included (one less is kept) */
#define NW_COMM_LEN 16

/* Data area: every part is written at an offset below NW_DATA_MASK + 1 and is at most
 * NW_PATH_MAX bytes long, so the area is that much larger. */
#define NW_DATA_MASK 16383
#define NW_DATA_SIZE (NW_DATA_MASK + 1 + NW_PATH_MAX)

/* flags */
#define NW_F_PATH_TRUNCATED 0x1     /* deeper or longer than the bounds: the path's head is missing */
#define NW_F_PATH_DETACHED 0x2      /* the walk ended at a mount namespace's root that is not the process's root (memfd, a detached mount) */
#define NW_F_UNLINKED 0x4           /* the file's dentry is unhashed: deleted, or never had a name (memfd) */
#define NW_F_FILENAME_TRUNCATED 0x8
#define NW_F_CGROUP_TRUNCATED 0x10
#define NW_F_ARGS_TRUNCATED 0x20
#define NW_F_ARGS_UNREADABLE 0x40   /* the argv pages could not be read */

/*
 * stdio[i]: what file descriptor i (0, 1, 2) of the new process is, one byte each: the kind
 * in the low nibble, and for a socket its address family in the high nibble.
 */
#define NW_FD_UNREAD 0      /* the descriptor table could not be read */
#define NW_FD_NONE 1        /* not open */
#define NW_FD_SOCKET 2
#define NW_FD_PIPE 3        /* a pipe or a FIFO */
#define NW_FD_FILE 4        /* a regular file */
#define NW_FD_CHARDEV 5     /* a character device: a tty, /dev/null ... */
#define NW_FD_OTHER 6       /* a directory, a block device, an anonymous inode (eventfd ...), an O_PATH descriptor of a socket's name */
#define NW_FAM_UNIX 1       /* AF_UNIX */
#define NW_FAM_INET 2       /* AF_INET */
#define NW_FAM_INET6 3      /* AF_INET6 */
#define NW_FAM_OTHER 4      /* any other family (netlink, vsock ...), or none read */
#define NW_FD_BYTE(kind, family) ((__u8)((kind) | ((family) << 4)))

/* counters (per-CPU array, summed by the addon) */
#define NW_C_SEEN 0         /* execs the program ran for */
#define NW_C_LOST 1         /* records the ring buffer had no room for */
#define NW_C_COUNT 2

struct nw_exec_event {
	__u64 ktime_ns;           /* CLOCK_MONOTONIC at the exec */
	__u64 start_boottime_ns;  /* the process's start (what /proc/<pid>/stat's starttime counts) */
	__u64 cgroup_id;          /* default-hierarchy (v2) cgroup id */
	__u64 cgroup_v1_id;       /* memory-controller v1 cgroup id, 0 without one */
	__u64 ino;
	__u64 fs_magic;
	__u32 dev;                /* kernel encoding: major << 20 | minor */
	__u32 nlink;
	__u32 mnt_ns;             /* namespace inode numbers */
	__u32 pid_ns;
	__u32 pid;
	__u32 tgid;
	__u32 ppid;               /* the real parent's tgid */
	__u32 old_pid;            /* the exec'ing thread's id before the exec */
	__u32 uid, euid, gid, egid;
	__u32 flags;
	__u32 cgroup_v1_hierarchy;
	__u16 path_len;
	__u16 filename_len;
	__u16 cgroup_len;
	__u16 cgroup_v1_len;
	__u16 args_len;
	__u16 mode;               /* the file's i_mode: type and permission bits, setuid/setgid included (st_mode) */
	char comm[NW_COMM_LEN];
	__u8 stdio[3];            /* fds 0, 1, 2: NW_FD_BYTE(kind, family) */
	__u8 reserved;
	/* The file's identity beyond dev/ino, as fstat() would report it at the exec. */
	__s64 size;               /* i_size (st_size) */
	__s64 mtime_sec;          /* st_mtim */
	__s64 ctime_sec;          /* st_ctim */
	__u32 mtime_nsec;
	__u32 ctime_nsec;
};

#endif
