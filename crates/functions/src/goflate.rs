//! gzip output byte-for-byte as Go's `compress/gzip` writes it at the default level, which is
//! what Terraform's `base64gzip` encodes.
//!
//! Any deflate encoder produces valid data, but each chooses matches, block types and Huffman
//! codes its own way, and `base64gzip` results are compared as strings (a changed `user_data`
//! replaces an instance). So this follows Go's encoder decision for decision: LZ77 with 4-byte
//! hash chains and lazy matching (level 6: good 8, lazy 16, nice 128, chain 128), blocks of at
//! most 16384 tokens, each written as the smallest of fixed Huffman, dynamic Huffman (Go's
//! length-limited code construction) or stored, then a sync flush and a final empty block.

/// Go's `gzip.NewWriter` + `Write` + `Flush` + `Close` on `data`.
pub fn gzip(data: &[u8]) -> Vec<u8> {
    // Header: magic, deflate, no flags, no mtime, no extra flags, OS "unknown".
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255];
    let mut d = Compressor::new();
    d.write(data);
    d.sync_flush();
    d.close();
    out.extend_from_slice(&d.w.out);
    out.extend_from_slice(&crc32fast::hash(data).to_le_bytes());
    // ISIZE is the length modulo 2^32.
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out
}

const WINDOW_SIZE: usize = 1 << 15;
const WINDOW_MASK: usize = WINDOW_SIZE - 1;
const MIN_MATCH: usize = 4;
const MAX_MATCH: usize = 258;
const BASE_MATCH_LENGTH: usize = 3;
const MAX_BLOCK_TOKENS: usize = 1 << 14;
const MAX_STORE_BLOCK: usize = 65535;
const HASH_BITS: u32 = 17;
const HASH_MASK: u32 = (1 << HASH_BITS) - 1;
const MAX_HASH_OFFSET: usize = 1 << 24;
// Level 6.
const GOOD: usize = 8;
const LAZY: usize = 16;
const NICE: usize = 128;
const CHAIN: usize = 128;

#[derive(Clone, Copy)]
enum Token {
    /// A literal byte, or 256 for the end of a block.
    Literal(u16),
    /// A match: length minus 3, distance minus 1.
    Match { xlen: u32, xoff: u32 },
}

fn hash4(b: &[u8]) -> u32 {
    let v = u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    v.wrapping_mul(0x1e35_a7bd) >> (32 - HASH_BITS)
}

struct Compressor {
    w: BitWriter,
    window: Vec<u8>,
    window_end: usize,
    index: usize,
    /// Window index where the current block's tokens start; `None` once shifted out.
    block_start: Option<usize>,
    byte_available: bool,
    tokens: Vec<Token>,
    hash_head: Vec<u32>,
    hash_prev: Vec<u32>,
    hash_offset: usize,
    chain_head: isize,
    length: usize,
    offset: usize,
    max_insert_index: usize,
    sync: bool,
}

impl Compressor {
    fn new() -> Compressor {
        Compressor {
            w: BitWriter::new(),
            window: vec![0; 2 * WINDOW_SIZE],
            window_end: 0,
            index: 0,
            block_start: Some(0),
            byte_available: false,
            tokens: Vec::with_capacity(MAX_BLOCK_TOKENS + 1),
            hash_head: vec![0; 1 << HASH_BITS],
            hash_prev: vec![0; WINDOW_SIZE],
            hash_offset: 1,
            chain_head: -1,
            length: MIN_MATCH - 1,
            offset: 0,
            max_insert_index: 0,
            sync: false,
        }
    }

    fn write(&mut self, mut b: &[u8]) {
        while !b.is_empty() {
            self.deflate();
            let n = self.fill(b);
            b = &b[n..];
        }
    }

    fn sync_flush(&mut self) {
        self.sync = true;
        self.deflate();
        self.w.write_stored_header(0, false);
        self.w.flush();
        self.sync = false;
    }

    fn close(&mut self) {
        self.sync = true;
        self.deflate();
        self.w.write_stored_header(0, true);
        self.w.flush();
    }

    fn fill(&mut self, b: &[u8]) -> usize {
        if self.index >= 2 * WINDOW_SIZE - (MIN_MATCH + MAX_MATCH) {
            // Slide the window down by its size.
            self.window.copy_within(WINDOW_SIZE..2 * WINDOW_SIZE, 0);
            self.index -= WINDOW_SIZE;
            self.window_end -= WINDOW_SIZE;
            self.block_start = self.block_start.and_then(|s| s.checked_sub(WINDOW_SIZE));
            self.hash_offset += WINDOW_SIZE;
            if self.hash_offset > MAX_HASH_OFFSET {
                let delta = self.hash_offset - 1;
                self.hash_offset -= delta;
                self.chain_head -= delta as isize;
                for v in self.hash_prev.iter_mut().chain(self.hash_head.iter_mut()) {
                    *v = if *v as usize > delta {
                        (*v as usize - delta) as u32
                    } else {
                        0
                    };
                }
            }
        }
        let n = b.len().min(self.window.len() - self.window_end);
        self.window[self.window_end..self.window_end + n].copy_from_slice(&b[..n]);
        self.window_end += n;
        n
    }

    fn write_block(&mut self, index: usize) {
        if index > 0 {
            let input = self
                .block_start
                .filter(|&s| s <= index)
                .map(|s| &self.window[s..index]);
            self.w.write_block(&self.tokens, false, input);
            self.block_start = Some(index);
        }
        self.tokens.clear();
    }

    fn insert_hash(&mut self, at: usize) {
        let h = hash4(&self.window[at..at + MIN_MATCH]);
        let head = &mut self.hash_head[(h & HASH_MASK) as usize];
        self.hash_prev[at & WINDOW_MASK] = *head;
        *head = (at + self.hash_offset) as u32;
    }

    fn deflate(&mut self) {
        if self.window_end - self.index < MIN_MATCH + MAX_MATCH && !self.sync {
            return;
        }
        self.max_insert_index = self.window_end.saturating_sub(MIN_MATCH - 1);
        loop {
            let lookahead = self.window_end - self.index;
            if lookahead < MIN_MATCH + MAX_MATCH {
                if !self.sync {
                    return;
                }
                if lookahead == 0 {
                    if self.byte_available {
                        let lit = self.window[self.index - 1];
                        self.tokens.push(Token::Literal(u16::from(lit)));
                        self.byte_available = false;
                    }
                    if !self.tokens.is_empty() {
                        self.write_block(self.index);
                    }
                    return;
                }
            }
            if self.index < self.max_insert_index {
                let h = hash4(&self.window[self.index..self.index + MIN_MATCH]);
                let head = &mut self.hash_head[(h & HASH_MASK) as usize];
                self.chain_head = *head as isize;
                self.hash_prev[self.index & WINDOW_MASK] = *head;
                *head = (self.index + self.hash_offset) as u32;
            }
            let prev_length = self.length;
            let prev_offset = self.offset;
            self.length = MIN_MATCH - 1;
            self.offset = 0;
            let min_index = self.index.saturating_sub(WINDOW_SIZE) as isize;
            let head = self.chain_head - self.hash_offset as isize;
            if head >= min_index && lookahead > prev_length && prev_length < LAZY {
                if let Some((len, off)) =
                    self.find_match(self.index, head, MIN_MATCH - 1, lookahead)
                {
                    self.length = len;
                    self.offset = off;
                }
            }
            if prev_length >= MIN_MATCH && self.length <= prev_length {
                // The previous position's match is at least as good: emit it.
                self.tokens.push(Token::Match {
                    xlen: (prev_length - BASE_MATCH_LENGTH) as u32,
                    xoff: (prev_offset - 1) as u32,
                });
                let new_index = self.index + prev_length - 1;
                self.index += 1;
                while self.index < new_index {
                    if self.index < self.max_insert_index {
                        self.insert_hash(self.index);
                    }
                    self.index += 1;
                }
                self.byte_available = false;
                self.length = MIN_MATCH - 1;
                if self.tokens.len() == MAX_BLOCK_TOKENS {
                    self.write_block(self.index);
                }
            } else {
                if self.byte_available {
                    let lit = self.window[self.index - 1];
                    self.tokens.push(Token::Literal(u16::from(lit)));
                    if self.tokens.len() == MAX_BLOCK_TOKENS {
                        self.write_block(self.index);
                    }
                }
                self.index += 1;
                self.byte_available = true;
            }
        }
    }

    /// The longest match for `pos` longer than `prev_length`, walking at most CHAIN links.
    fn find_match(
        &self,
        pos: usize,
        prev_head: isize,
        prev_length: usize,
        lookahead: usize,
    ) -> Option<(usize, usize)> {
        let look = MAX_MATCH.min(lookahead);
        let win = &self.window[..pos + look];
        let nice = (win.len() - pos).min(NICE);
        let mut tries = if prev_length >= GOOD {
            CHAIN >> 2
        } else {
            CHAIN
        };
        let mut length = prev_length;
        let mut found = None;
        let mut w_end = win[pos + length];
        let min_index = pos as isize - WINDOW_SIZE as isize;
        let mut i = prev_head;
        while tries > 0 {
            let iu = i as usize;
            if w_end == win[iu + length] {
                let n = win[iu..iu + look]
                    .iter()
                    .zip(&win[pos..pos + look])
                    .take_while(|(a, b)| a == b)
                    .count();
                if n > length && (n > MIN_MATCH || pos - iu <= 4096) {
                    length = n;
                    found = Some((n, pos - iu));
                    if n >= nice {
                        break;
                    }
                    w_end = win[pos + n];
                }
            }
            if i == min_index {
                break;
            }
            i = self.hash_prev[iu & WINDOW_MASK] as isize - self.hash_offset as isize;
            if i < min_index || i < 0 {
                break;
            }
            tries -= 1;
        }
        found
    }
}

const END_BLOCK: usize = 256;
const LENGTH_CODES_START: usize = 257;
const MAX_NUM_LIT: usize = 286;
const OFFSET_CODE_COUNT: usize = 30;
const CODEGEN_CODE_COUNT: usize = 19;
const BAD_CODE: u8 = 255;

const LENGTH_EXTRA_BITS: [u8; 29] = [
    0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
];
const LENGTH_BASE: [u32; 29] = [
    0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 14, 16, 20, 24, 28, 32, 40, 48, 56, 64, 80, 96, 112, 128,
    160, 192, 224, 255,
];
const OFFSET_EXTRA_BITS: [u8; 30] = [
    0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13,
    13,
];
const OFFSET_BASE: [u32; 30] = [
    0x0000, 0x0001, 0x0002, 0x0003, 0x0004, 0x0006, 0x0008, 0x000c, 0x0010, 0x0018, 0x0020, 0x0030,
    0x0040, 0x0060, 0x0080, 0x00c0, 0x0100, 0x0180, 0x0200, 0x0300, 0x0400, 0x0600, 0x0800, 0x0c00,
    0x1000, 0x1800, 0x2000, 0x3000, 0x4000, 0x6000,
];
/// The order in which code-length code lengths are written (RFC 1951 3.2.7).
const CODEGEN_ORDER: [usize; 19] = [
    16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15,
];

/// The code whose base is the largest not above `x` (lengths and distances alike).
fn code_for(bases: &[u32], x: u32) -> usize {
    bases.partition_point(|&b| b <= x) - 1
}

fn reverse_bits(code: u16, len: u16) -> u16 {
    code.reverse_bits() >> (16 - len)
}

/// A Huffman code: bit pattern (already reversed for LSB-first output) and length per symbol.
#[derive(Clone)]
struct Encoder {
    code: Vec<u16>,
    len: Vec<u16>,
}

impl Encoder {
    fn new(size: usize) -> Encoder {
        Encoder {
            code: vec![0; size],
            len: vec![0; size],
        }
    }

    fn fixed_literal() -> Encoder {
        let mut e = Encoder::new(MAX_NUM_LIT);
        for ch in 0..MAX_NUM_LIT as u16 {
            let (bits, size) = match ch {
                0..=143 => (ch + 48, 8),
                144..=255 => (ch + 400 - 144, 9),
                256..=279 => (ch - 256, 7),
                _ => (ch + 192 - 280, 8),
            };
            e.code[ch as usize] = reverse_bits(bits, size);
            e.len[ch as usize] = size;
        }
        e
    }

    fn fixed_offset() -> Encoder {
        let mut e = Encoder::new(OFFSET_CODE_COUNT);
        for i in 0..OFFSET_CODE_COUNT {
            e.code[i] = reverse_bits(i as u16, 5);
            e.len[i] = 5;
        }
        e
    }

    fn bit_length(&self, freq: &[i32]) -> i64 {
        freq.iter()
            .zip(&self.len)
            .filter(|(f, _)| **f != 0)
            .map(|(f, l)| i64::from(*f) * i64::from(*l))
            .sum()
    }

    /// Go's length-limited Huffman construction for `freq`.
    fn generate(&mut self, freq: &[i32], max_bits: i32) {
        let mut list: Vec<(u16, i32)> = Vec::with_capacity(freq.len() + 1);
        for (i, &f) in freq.iter().enumerate() {
            if f != 0 {
                list.push((i as u16, f));
            } else {
                self.len[i] = 0;
            }
        }
        if list.len() <= 2 {
            // One or two symbols: each gets a one-bit code, in symbol order.
            for (i, &(lit, _)) in list.iter().enumerate() {
                self.code[lit as usize] = i as u16;
                self.len[lit as usize] = 1;
            }
            return;
        }
        list.sort_by_key(|&(lit, f)| (f, lit));
        let bit_count = bit_counts(&list, max_bits);
        // Assign codes: the least frequent symbols get the longest codes, and within one
        // length codes go in symbol order.
        let mut code: u16 = 0;
        let mut rest = list.as_mut_slice();
        for (n, &bits) in bit_count.iter().enumerate() {
            code <<= 1;
            if n == 0 || bits == 0 {
                continue;
            }
            let (head, chunk) = rest.split_at_mut(rest.len() - bits as usize);
            chunk.sort_by_key(|&(lit, _)| lit);
            for &(lit, _) in chunk.iter() {
                self.code[lit as usize] = reverse_bits(code, n as u16);
                self.len[lit as usize] = n as u16;
                code += 1;
            }
            rest = head;
        }
    }
}

/// How many symbols get each code length (index = bits), for a list sorted by increasing
/// frequency with at least three entries; lengths are limited to `max_bits`.
fn bit_counts(list: &[(u16, i32)], max_bits: i32) -> Vec<i32> {
    const LIMIT: usize = 16;
    let n = list.len() as i32;
    let freq = |i: i32| {
        if i >= n {
            i32::MAX
        } else {
            list[i as usize].1
        }
    };
    let max_bits = max_bits.min(n - 1) as usize;

    #[derive(Clone, Copy, Default)]
    struct Level {
        last_freq: i32,
        next_char_freq: i32,
        next_pair_freq: i32,
        needed: i32,
    }
    let mut levels = [Level::default(); LIMIT + 1];
    let mut leaf_counts = [[0i32; LIMIT + 1]; LIMIT + 1];
    for level in 1..=max_bits {
        levels[level] = Level {
            last_freq: freq(1),
            next_char_freq: freq(2),
            next_pair_freq: if level == 1 {
                i32::MAX
            } else {
                freq(0) + freq(1)
            },
            needed: 0,
        };
        leaf_counts[level][level] = 2;
    }
    levels[max_bits].needed = 2 * n - 4;

    let mut level = max_bits;
    loop {
        let l = levels[level];
        if l.next_pair_freq == i32::MAX && l.next_char_freq == i32::MAX {
            // Out of leaves and pairs: nothing more at this level or below.
            levels[level].needed = 0;
            levels[level + 1].next_pair_freq = i32::MAX;
            level += 1;
            continue;
        }
        let prev_freq = l.last_freq;
        if l.next_char_freq < l.next_pair_freq {
            // Next item is a leaf.
            let count = leaf_counts[level][level] + 1;
            levels[level].last_freq = l.next_char_freq;
            leaf_counts[level][level] = count;
            levels[level].next_char_freq = freq(count);
        } else {
            // Next item is a pair from the level below.
            levels[level].last_freq = l.next_pair_freq;
            let (below, here) = leaf_counts.split_at_mut(level);
            here[0][..level].copy_from_slice(&below[level - 1][..level]);
            levels[level - 1].needed = 2;
        }
        levels[level].needed -= 1;
        if levels[level].needed == 0 {
            if level == max_bits {
                break;
            }
            levels[level + 1].next_pair_freq = prev_freq + levels[level].last_freq;
            level += 1;
        } else {
            while levels[level - 1].needed > 0 {
                level -= 1;
            }
        }
    }

    let mut bit_count = vec![0i32; max_bits + 1];
    let counts = &leaf_counts[max_bits];
    for (bits, level) in (1..=max_bits).zip((1..=max_bits).rev()) {
        bit_count[bits] = counts[level] - counts[level - 1];
    }
    bit_count
}

/// LSB-first bit output plus the block writer.
struct BitWriter {
    out: Vec<u8>,
    bits: u64,
    nbits: u32,
    literal_freq: Vec<i32>,
    offset_freq: Vec<i32>,
    codegen_freq: [i32; CODEGEN_CODE_COUNT],
    codegen: Vec<u8>,
    literal: Encoder,
    offset: Encoder,
    codegen_enc: Encoder,
    fixed_literal: Encoder,
    fixed_offset: Encoder,
}

impl BitWriter {
    fn new() -> BitWriter {
        BitWriter {
            out: Vec::new(),
            bits: 0,
            nbits: 0,
            literal_freq: vec![0; MAX_NUM_LIT],
            offset_freq: vec![0; OFFSET_CODE_COUNT],
            codegen_freq: [0; CODEGEN_CODE_COUNT],
            codegen: vec![0; MAX_NUM_LIT + OFFSET_CODE_COUNT + 1],
            literal: Encoder::new(MAX_NUM_LIT),
            offset: Encoder::new(OFFSET_CODE_COUNT),
            codegen_enc: Encoder::new(CODEGEN_CODE_COUNT),
            fixed_literal: Encoder::fixed_literal(),
            fixed_offset: Encoder::fixed_offset(),
        }
    }

    fn write_bits(&mut self, b: u32, nb: u32) {
        self.bits |= u64::from(b) << self.nbits;
        self.nbits += nb;
        while self.nbits >= 8 {
            self.out.push(self.bits as u8);
            self.bits >>= 8;
            self.nbits -= 8;
        }
    }

    /// Pads to a byte boundary with zero bits.
    fn flush(&mut self) {
        if self.nbits > 0 {
            self.out.push(self.bits as u8);
        }
        self.bits = 0;
        self.nbits = 0;
    }

    fn write_stored_header(&mut self, length: usize, eof: bool) {
        self.write_bits(u32::from(eof), 3);
        self.flush();
        self.write_bits(length as u32, 16);
        self.write_bits(u32::from(!(length as u16)), 16);
    }

    /// Run-length codes for the concatenated literal and offset code lengths (RFC 1951
    /// 3.2.7), with their frequencies.
    fn generate_codegen(&mut self, num_literals: usize, num_offsets: usize) {
        self.codegen_freq = [0; CODEGEN_CODE_COUNT];
        let mut sizes: Vec<u8> = self.literal.len[..num_literals]
            .iter()
            .chain(&self.offset.len[..num_offsets])
            .map(|&l| l as u8)
            .collect();
        sizes.push(BAD_CODE);
        let out = &mut self.codegen;
        let freq = &mut self.codegen_freq;
        let mut o = 0;
        let mut emit = |v: u8, o: &mut usize| {
            out[*o] = v;
            *o += 1;
        };
        let mut size = sizes[0];
        let mut count: i32 = 1;
        let mut i = 1;
        while size != BAD_CODE {
            let next = sizes[i];
            i += 1;
            if next == size {
                count += 1;
                continue;
            }
            if size != 0 {
                emit(size, &mut o);
                freq[size as usize] += 1;
                count -= 1;
                while count >= 3 {
                    let n = count.min(6);
                    emit(16, &mut o);
                    emit((n - 3) as u8, &mut o);
                    freq[16] += 1;
                    count -= n;
                }
            } else {
                while count >= 11 {
                    let n = count.min(138);
                    emit(18, &mut o);
                    emit((n - 11) as u8, &mut o);
                    freq[18] += 1;
                    count -= n;
                }
                if count >= 3 {
                    emit(17, &mut o);
                    emit((count - 3) as u8, &mut o);
                    freq[17] += 1;
                    count = 0;
                }
            }
            while count > 0 {
                emit(size, &mut o);
                freq[size as usize] += 1;
                count -= 1;
            }
            size = next;
            count = 1;
        }
        emit(BAD_CODE, &mut o);
    }

    fn dynamic_size(&self, extra_bits: i64) -> (i64, usize) {
        let mut num_codegens = CODEGEN_CODE_COUNT;
        while num_codegens > 4 && self.codegen_freq[CODEGEN_ORDER[num_codegens - 1]] == 0 {
            num_codegens -= 1;
        }
        let header = 3
            + 5
            + 5
            + 4
            + 3 * num_codegens as i64
            + self.codegen_enc.bit_length(&self.codegen_freq)
            + i64::from(self.codegen_freq[16]) * 2
            + i64::from(self.codegen_freq[17]) * 3
            + i64::from(self.codegen_freq[18]) * 7;
        let size = header
            + self.literal.bit_length(&self.literal_freq)
            + self.offset.bit_length(&self.offset_freq)
            + extra_bits;
        (size, num_codegens)
    }

    /// Counts symbol frequencies and builds the dynamic codes; returns the number of literal
    /// and offset codes in use.
    fn index_tokens(&mut self, tokens: &[Token]) -> (usize, usize) {
        self.literal_freq.iter_mut().for_each(|f| *f = 0);
        self.offset_freq.iter_mut().for_each(|f| *f = 0);
        for t in tokens {
            match *t {
                Token::Literal(l) => self.literal_freq[l as usize] += 1,
                Token::Match { xlen, xoff } => {
                    self.literal_freq[LENGTH_CODES_START + code_for(&LENGTH_BASE, xlen)] += 1;
                    self.offset_freq[code_for(&OFFSET_BASE, xoff)] += 1;
                }
            }
        }
        let mut num_literals = MAX_NUM_LIT;
        while self.literal_freq[num_literals - 1] == 0 {
            num_literals -= 1;
        }
        let mut num_offsets = OFFSET_CODE_COUNT;
        while num_offsets > 0 && self.offset_freq[num_offsets - 1] == 0 {
            num_offsets -= 1;
        }
        if num_offsets == 0 {
            // A dynamic header needs at least one distance code.
            self.offset_freq[0] = 1;
            num_offsets = 1;
        }
        let (lf, of) = (self.literal_freq.clone(), self.offset_freq.clone());
        self.literal.generate(&lf, 15);
        self.offset.generate(&of, 15);
        (num_literals, num_offsets)
    }

    fn write_block(&mut self, tokens: &[Token], eof: bool, input: Option<&[u8]>) {
        let mut tokens = tokens.to_vec();
        tokens.push(Token::Literal(END_BLOCK as u16));
        let (num_literals, num_offsets) = self.index_tokens(&tokens);

        let stored = input.filter(|i| i.len() <= MAX_STORE_BLOCK);
        let mut extra_bits = 0i64;
        if stored.is_some() {
            // Extra bits cost the same in fixed and dynamic codes; they only matter against
            // a stored block.
            for code in LENGTH_CODES_START + 8..num_literals {
                extra_bits += i64::from(self.literal_freq[code])
                    * i64::from(LENGTH_EXTRA_BITS[code - LENGTH_CODES_START]);
            }
            extra_bits += self
                .offset_freq
                .iter()
                .zip(&OFFSET_EXTRA_BITS)
                .take(num_offsets)
                .skip(4)
                .map(|(&f, &e)| i64::from(f) * i64::from(e))
                .sum::<i64>();
        }

        let fixed_size = 3
            + self.fixed_literal.bit_length(&self.literal_freq)
            + self.fixed_offset.bit_length(&self.offset_freq)
            + extra_bits;
        self.generate_codegen(num_literals, num_offsets);
        let cf = self.codegen_freq;
        self.codegen_enc.generate(&cf, 7);
        let (dynamic_size, num_codegens) = self.dynamic_size(extra_bits);
        let dynamic = dynamic_size < fixed_size;
        let size = fixed_size.min(dynamic_size);

        if let Some(input) = stored {
            if ((input.len() as i64) + 5) * 8 < size {
                self.write_stored_header(input.len(), eof);
                self.out.extend_from_slice(input);
                return;
            }
        }

        let (lit, off) = if dynamic {
            self.write_dynamic_header(num_literals, num_offsets, num_codegens, eof);
            (self.literal.clone(), self.offset.clone())
        } else {
            self.write_bits(if eof { 3 } else { 2 }, 3);
            (self.fixed_literal.clone(), self.fixed_offset.clone())
        };
        for t in &tokens {
            match *t {
                Token::Literal(l) => {
                    self.write_code(&lit, l as usize);
                }
                Token::Match { xlen, xoff } => {
                    let lc = code_for(&LENGTH_BASE, xlen);
                    self.write_code(&lit, lc + LENGTH_CODES_START);
                    if LENGTH_EXTRA_BITS[lc] > 0 {
                        self.write_bits(xlen - LENGTH_BASE[lc], u32::from(LENGTH_EXTRA_BITS[lc]));
                    }
                    let oc = code_for(&OFFSET_BASE, xoff);
                    self.write_code(&off, oc);
                    if OFFSET_EXTRA_BITS[oc] > 0 {
                        self.write_bits(xoff - OFFSET_BASE[oc], u32::from(OFFSET_EXTRA_BITS[oc]));
                    }
                }
            }
        }
    }

    fn write_code(&mut self, enc: &Encoder, sym: usize) {
        self.write_bits(u32::from(enc.code[sym]), u32::from(enc.len[sym]));
    }

    fn write_dynamic_header(
        &mut self,
        num_literals: usize,
        num_offsets: usize,
        num_codegens: usize,
        eof: bool,
    ) {
        self.write_bits(if eof { 5 } else { 4 }, 3);
        self.write_bits((num_literals - 257) as u32, 5);
        self.write_bits((num_offsets - 1) as u32, 5);
        self.write_bits((num_codegens - 4) as u32, 4);
        for &sym in &CODEGEN_ORDER[..num_codegens] {
            self.write_bits(u32::from(self.codegen_enc.len[sym]), 3);
        }
        let enc = self.codegen_enc.clone();
        let mut i = 0;
        loop {
            let word = self.codegen[i];
            i += 1;
            if word == BAD_CODE {
                break;
            }
            self.write_code(&enc, word as usize);
            let extra = match word {
                16 => 2,
                17 => 3,
                18 => 7,
                _ => continue,
            };
            self.write_bits(u32::from(self.codegen[i]), extra);
            i += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gunzip(gz: &[u8]) -> Vec<u8> {
        use std::io::Read;
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(gz)
            .read_to_end(&mut out)
            .unwrap();
        out
    }

    #[test]
    fn go_bytes_for_hello() {
        // Recorded from Go's compress/gzip (Terraform's base64gzip("hello")).
        let expected = [
            0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xca, 0x48, 0xcd, 0xc9,
            0xc9, 0x07, 0x00, 0x00, 0x00, 0xff, 0xff, 0x01, 0x00, 0x00, 0xff, 0xff, 0x86, 0xa6,
            0x10, 0x36, 0x05, 0x00, 0x00, 0x00,
        ];
        assert_eq!(gzip(b"hello"), expected);
    }

    #[test]
    fn round_trips_through_a_standard_decoder() {
        let mut data = Vec::new();
        let mut x: u32 = 1;
        for i in 0..300_000u32 {
            // Mix of repetitive text and pseudo-random bytes: every block kind, window slides.
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            if (i / 5000) % 3 == 0 {
                data.push((x >> 16) as u8);
            } else {
                data.extend_from_slice(b"the quick brown fox ");
            }
        }
        for input in [&b""[..], b"a", b"ab", b"abcabcabcabc", &data[..]] {
            assert_eq!(gunzip(&gzip(input)), input);
        }
    }
}
