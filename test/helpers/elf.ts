// A small ELF64 file shaped like a Kubernetes Go binary where the version lives: a `.rodata`
// section in which ordinary Go strings are packed back to back (so `v1.21.2` inside them has
// no NUL around it) and the linker's `-X ...gitVersion=` values stand alone, NUL-padded to 32
// bytes. Used to write fixture binaries and to test the reader on shapes a real binary has.
// (test/agent/worker-facts.test.ts also reads a real kubectl when the machine has one.)

export interface FakeBinaryOptions {
  /** The -X version value(s), each written as its own NUL-padded string. */
  readonly versions?: readonly string[];
  /** Extra NUL-padded strings (a second -X value, say). */
  readonly standalone?: readonly string[];
  /** Leave out the section headers (a stripped-to-the-bone binary). */
  readonly noSections?: boolean;
  /** Big-endian and 32-bit variants. */
  readonly bigEndian?: boolean;
  readonly class32?: boolean;
  /** Bytes of filler before .rodata (to push strings across the reader's chunk borders). */
  readonly textBytes?: number;
}

const pad32 = (b: Buffer): Buffer => Buffer.concat([b, Buffer.alloc((32 - (b.length % 32)) % 32 || 32)]);

export function fakeGoBinary(opts: FakeBinaryOptions = {}): Buffer {
  const is64 = opts.class32 !== true;
  const le = opts.bigEndian !== true;
  const packed = Buffer.from('runtime error: index out of rangebuiltin(devel)v1.21.2!!mergefixed32hyperkube:v1.0.7sigs.k8s.io@v1.4.0', 'latin1');
  const alone = [...(opts.versions ?? ['v1.32.4', 'v1.32.4']), 'call frame too large', '2026-05-15T20:09:34Z', ...(opts.standalone ?? [])]
    .map((s) => pad32(Buffer.from(s, 'latin1')));
  const rodata = Buffer.concat([Buffer.from([0]), packed, Buffer.alloc(7), ...alone]);
  const text = Buffer.alloc(opts.textBytes ?? 256, 0x90);
  const shstrtab = Buffer.from('\0.text\0.rodata\0.shstrtab\0', 'latin1');

  const ehsize = is64 ? 64 : 52;
  const shentsize = is64 ? 64 : 40;
  const textOff = ehsize;
  const rodataOff = textOff + text.length;
  const strOff = rodataOff + rodata.length;
  const shoff = strOff + shstrtab.length;
  const sections = [
    { name: 0, type: 0, off: 0, size: 0 },
    { name: 1, type: 1, off: textOff, size: text.length },
    { name: 7, type: 1, off: rodataOff, size: rodata.length },
    { name: 15, type: 3, off: strOff, size: shstrtab.length },
  ];

  const h = Buffer.alloc(ehsize);
  h.writeUInt32BE(0x7f454c46, 0);
  h[4] = is64 ? 2 : 1;
  h[5] = le ? 1 : 2;
  h[6] = 1;
  const w16 = (b: Buffer, v: number, o: number): void => void (le ? b.writeUInt16LE(v, o) : b.writeUInt16BE(v, o));
  const w32 = (b: Buffer, v: number, o: number): void => void (le ? b.writeUInt32LE(v, o) : b.writeUInt32BE(v, o));
  const w64 = (b: Buffer, v: number, o: number): void => void (le ? b.writeBigUInt64LE(BigInt(v), o) : b.writeBigUInt64BE(BigInt(v), o));
  w16(h, 2, 16); // ET_EXEC
  w16(h, is64 ? 62 : 3, 18);
  w32(h, 1, 20);
  if (is64) {
    w64(h, opts.noSections ? 0 : shoff, 0x28);
    w16(h, ehsize, 0x34);
    w16(h, shentsize, 0x3a);
    w16(h, opts.noSections ? 0 : sections.length, 0x3c);
    w16(h, 3, 0x3e);
  } else {
    w32(h, opts.noSections ? 0 : shoff, 0x20);
    w16(h, ehsize, 0x28);
    w16(h, shentsize, 0x2e);
    w16(h, opts.noSections ? 0 : sections.length, 0x30);
    w16(h, 3, 0x32);
  }
  const table = Buffer.alloc(sections.length * shentsize);
  sections.forEach((s, i) => {
    const o = i * shentsize;
    w32(table, s.name, o);
    w32(table, s.type, o + 4);
    if (is64) {
      w64(table, s.off, o + 24);
      w64(table, s.size, o + 32);
    } else {
      w32(table, s.off, o + 16);
      w32(table, s.size, o + 20);
    }
  });
  return Buffer.concat([h, text, rodata, shstrtab, ...(opts.noSections ? [] : [table])]);
}

/**
 * A complete static ELF64 executable that only exits with status 0: one loadable segment,
 * three instructions, no libc, no dynamic loader. It lives for well under a millisecond
 * after its exec, which is the case exec capture must not lose. x86-64 and arm64.
 */
export function exitOnlyElf(arch: string = process.arch): Buffer {
  const code: Record<string, { machine: number; code: Buffer }> = {
    // xor edi, edi; mov eax, 231 (exit_group); syscall
    x64: { machine: 62, code: Buffer.from([0x31, 0xff, 0xb8, 0xe7, 0x00, 0x00, 0x00, 0x0f, 0x05]) },
    // mov x0, #0; mov x8, #94 (exit_group); svc #0
    arm64: { machine: 183, code: Buffer.from([0x00, 0x00, 0x80, 0xd2, 0xc8, 0x0b, 0x80, 0xd2, 0x01, 0x00, 0x00, 0xd4]) },
  };
  const c = code[arch];
  if (!c) throw new Error(`exitOnlyElf: no code for ${arch}`);
  const base = 0x400000;
  const headers = 64 + 56;
  const total = headers + c.code.length;
  const h = Buffer.alloc(headers);
  h.writeUInt32BE(0x7f454c46, 0);
  h[4] = 2; // ELFCLASS64
  h[5] = 1; // little-endian
  h[6] = 1; // EV_CURRENT
  h.writeUInt16LE(2, 16); // ET_EXEC
  h.writeUInt16LE(c.machine, 18);
  h.writeUInt32LE(1, 20);
  h.writeBigUInt64LE(BigInt(base + headers), 24); // e_entry: the code right after the headers
  h.writeBigUInt64LE(64n, 32); // e_phoff
  h.writeUInt16LE(64, 52); // e_ehsize
  h.writeUInt16LE(56, 54); // e_phentsize
  h.writeUInt16LE(1, 56); // e_phnum
  const ph = 64;
  h.writeUInt32LE(1, ph); // PT_LOAD
  h.writeUInt32LE(5, ph + 4); // PF_R | PF_X
  h.writeBigUInt64LE(0n, ph + 8); // p_offset
  h.writeBigUInt64LE(BigInt(base), ph + 16); // p_vaddr
  h.writeBigUInt64LE(BigInt(base), ph + 24); // p_paddr
  h.writeBigUInt64LE(BigInt(total), ph + 32); // p_filesz
  h.writeBigUInt64LE(BigInt(total), ph + 40); // p_memsz
  h.writeBigUInt64LE(0x1000n, ph + 48); // p_align
  return Buffer.concat([h, c.code]);
}
