//! The search index written to a file and read back at start-up, so a large store is
//! searchable at once instead of after decoding and re-indexing every row.
//!
//! The file is only a cache of what the rows say. The store counts its committed write
//! transactions in its `meta` table (in each transaction itself); the file names the count
//! it was saved at. It is written at a clean shutdown (then it is the index exactly) and
//! now and then while the store serves (then pieces of it may be newer than that count: see
//! [`save`]). Start-up reads it and re-indexes the records the index journal names after its
//! count (`sqlite::index_journal`); a store saves the file only when the count is still the
//! one its index has seen, so an index that missed another process's writes is never saved.
//!
//! Format: little-endian, length-prefixed, in the order of the structures in `mod.rs` and `postings.rs`.
//! Maps are written in key order, so reading them back is a bulk build, not a search per
//! entry.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::ops::Bound;
use std::path::Path;
use std::sync::{RwLock, RwLockReadGuard};

use super::{AssociationIndex, Bitmap, Key, PartitionIndex, Posting, PropertyIndex, SearchIndex};
use crate::crm::objects::ObjectType;
use crate::crm::objects::Partition;
use crate::crm::properties::PropertyType;

const MAGIC: &[u8; 16] = b"hubcalls-index\n\0";
/// Changes whenever the layout below or the meaning of the index changes (3: indexes are
/// kept per partition, a portal and an object type, written as its key).
const FORMAT_VERSION: u32 = 3;
/// The version of hubcalls that wrote the file: another may type or tokenise differently.
const BUILT_BY: &str = env!("CARGO_PKG_VERSION");

/// Property types by their number in the file (append only).
const PROPERTY_TYPES: [PropertyType; 9] = [
    PropertyType::Bool,
    PropertyType::Enumeration,
    PropertyType::Date,
    PropertyType::Datetime,
    PropertyType::String,
    PropertyType::Number,
    PropertyType::PhoneNumber,
    PropertyType::ObjectCoordinates,
    PropertyType::Json,
];

/// Associated object kinds by their number in the file (append only).
const ASSOCIATED_KINDS: [ObjectType; 4] = [
    ObjectType::CONTACTS,
    ObjectType::COMPANIES,
    ObjectType::DEALS,
    ObjectType::TICKETS,
];

/// Writes the index behind `lock` to `path` as of write `saved_at` (through a temporary
/// file and a rename, so a crash leaves the old file or the new one, never half of one).
///
/// The store keeps serving meanwhile: the read lock is taken per piece (a partition's slots,
/// then [`CHUNK`] entries of a map at a time), so writers wait at most for one piece. The file
/// is then a mix of states from `saved_at` on, each piece whole; every record changed after
/// `saved_at` is in the index journal, and start-up re-indexes those records from their rows
/// (dropping whatever the file says of them, and postings of slots it has no record of).
/// At a clean shutdown nothing writes, and the file is exactly the index.
pub fn save(lock: &RwLock<SearchIndex>, path: &Path, saved_at: i64) -> io::Result<()> {
    let partial = path.with_extension("partial");
    let file = File::create(&partial)?;
    let mut out = BufWriter::with_capacity(1 << 20, file);
    out.write_all(MAGIC)?;
    out.write_all(&FORMAT_VERSION.to_le_bytes())?;
    write_str(&mut out, BUILT_BY)?;
    out.write_all(&saved_at.to_le_bytes())?;
    let partitions: Vec<Partition> = read(lock).partitions.keys().copied().collect();
    write_len(&mut out, partitions.len())?;
    for partition in partitions {
        out.write_all(&partition.key().to_le_bytes())?;
        write_partition(&mut out, lock, partition)?;
    }
    let file = out.into_inner().map_err(|e| e.into_error())?;
    file.sync_all()?;
    std::fs::rename(&partial, path)
}

/// Entries of a map written per hold of the read lock while the index is saved: about a
/// millisecond of work, so a writer never waits long for a save.
const CHUNK: usize = 4096;

/// Index locks guard consistent state even when poisoned (see `sqlite::read_index`).
fn read(lock: &RwLock<SearchIndex>) -> RwLockReadGuard<'_, SearchIndex> {
    lock.read().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// What the index says of a partition's property, or `None` once it is gone.
fn property<'a>(
    index: &'a SearchIndex,
    partition: Partition,
    name: &str,
) -> Option<&'a PropertyIndex> {
    index.partitions.get(&partition)?.properties.get(name)
}

fn write_partition(
    out: &mut impl Write,
    lock: &RwLock<SearchIndex>,
    partition: Partition,
) -> io::Result<()> {
    // The slots, and which properties and associated kinds to write: one moment.
    let (names, kinds) = {
        let index = read(lock);
        let empty = PartitionIndex::default();
        let partition_index = index.partitions.get(&partition).unwrap_or(&empty);
        write_slots(out, partition_index)?;
        let names: Vec<String> = partition_index.properties.keys().cloned().collect();
        let kinds: Vec<ObjectType> = partition_index.associations.keys().copied().collect();
        (names, kinds)
    };
    write_len(out, names.len())?;
    for name in names {
        write_str(out, &name)?;
        let property_type = read(lock)
            .partitions
            .get(&partition)
            .and_then(|p| p.properties.get(&name))
            .and_then(|p| p.property_type);
        let type_number = property_type
            .and_then(|t| PROPERTY_TYPES.iter().position(|known| *known == t))
            .map_or(u8::MAX, |n| n as u8);
        out.write_all(&[type_number])?;
        // A section of known length, so the reader can hand sections to several threads.
        let mut section = Vec::new();
        write_postings(&mut section, lock, |index| {
            property(index, partition, &name).map(|p| &p.values)
        });
        write_postings(&mut section, lock, |index| {
            property(index, partition, &name).map(|p| &p.tokens)
        });
        write_len(out, section.len())?;
        out.write_all(&section)?;
    }
    write_len(out, kinds.len())?;
    for kind in kinds {
        let number = ASSOCIATED_KINDS
            .iter()
            .position(|known| *known == kind)
            .unwrap_or(usize::MAX);
        write_len(out, number)?;
        fn associations(
            index: &SearchIndex,
            partition: Partition,
            kind: ObjectType,
        ) -> Option<&AssociationIndex> {
            index.partitions.get(&partition)?.associations.get(&kind)
        }
        let mut section = Vec::new();
        write_chunked(
            &mut section,
            lock,
            |index, after: Option<&(u64, u32, u32)>, out| {
                let Some(rows) = associations(index, partition, kind).map(|a| &a.rows) else {
                    return (0, None);
                };
                let mut written = 0;
                let mut last = None;
                for row in rows
                    .range((after_bound(after), Bound::Unbounded))
                    .take(CHUNK)
                {
                    let (to_id, slot, type_id) = row;
                    out.extend_from_slice(&to_id.to_le_bytes());
                    out.extend_from_slice(&slot.to_le_bytes());
                    out.extend_from_slice(&type_id.to_le_bytes());
                    written += 1;
                    last = Some(*row);
                }
                (written, last)
            },
        );
        write_postings(&mut section, lock, |index| {
            associations(index, partition, kind).map(|a| &a.values)
        });
        out.write_all(&section)?;
    }
    Ok(())
}

/// A partition's slots in order: the id and created instant of each (the slot map is
/// rebuilt from ids), which are live, and the created order.
fn write_slots(out: &mut impl Write, index: &PartitionIndex) -> io::Result<()> {
    write_len(out, index.ids.len())?;
    for (id, created) in index.ids.iter().zip(&index.created) {
        out.write_all(&id.to_le_bytes())?;
        out.write_all(&created.to_le_bytes())?;
    }
    write_len(out, index.live.words.len())?;
    for word in &index.live.words {
        out.write_all(&word.to_le_bytes())?;
    }
    write_len(out, index.live_count)?;
    write_len(out, index.by_created.len())?;
    for (created, id, slot) in &index.by_created {
        out.write_all(&created.to_le_bytes())?;
        out.write_all(&id.to_le_bytes())?;
        out.write_all(&slot.to_le_bytes())?;
    }
    Ok(())
}

/// Writes one ordered collection of the index as its count and then its entries, a chunk per
/// hold of the read lock: `chunk` appends at most [`CHUNK`] entries, from the one after the
/// given one (from the first when `None`), and answers how many it wrote and the last of them
/// (none when the collection is gone). Entries changed between chunks belong to records the
/// journal names.
fn write_chunked<E>(
    out: &mut Vec<u8>,
    lock: &RwLock<SearchIndex>,
    mut chunk: impl FnMut(&SearchIndex, Option<&E>, &mut Vec<u8>) -> (usize, Option<E>),
) {
    let count_at = out.len();
    out.extend_from_slice(&0u64.to_le_bytes());
    let mut count = 0;
    let mut after: Option<E> = None;
    loop {
        let (written, last) = chunk(&read(lock), after.as_ref(), out);
        count += written as u64;
        match last {
            Some(last) if written == CHUNK => after = Some(last),
            _ => break,
        }
    }
    out[count_at..count_at + 8].copy_from_slice(&count.to_le_bytes());
}

/// Writes a map from keys to postings (the one `map_of` finds, chunk by chunk).
fn write_postings(
    out: &mut Vec<u8>,
    lock: &RwLock<SearchIndex>,
    map_of: impl Fn(&SearchIndex) -> Option<&BTreeMap<Key, Posting>>,
) {
    write_chunked(out, lock, |index, after: Option<&Key>, out| {
        let Some(map) = map_of(index) else {
            return (0, None);
        };
        let mut written = 0;
        let mut last = None;
        for (key, posting) in map
            .range::<Key, _>((after_bound(after), Bound::Unbounded))
            .take(CHUNK)
        {
            match key {
                Key::Num(n) => {
                    out.push(0);
                    out.extend_from_slice(&n.to_le_bytes());
                }
                Key::Text(text) => {
                    out.push(1);
                    out.extend_from_slice(&(text.len() as u64).to_le_bytes());
                    out.extend_from_slice(text.as_bytes());
                }
            }
            out.extend_from_slice(&(posting.len() as u32).to_le_bytes());
            for slot in posting.slots() {
                out.extend_from_slice(&slot.to_le_bytes());
            }
            written += 1;
            last = Some(key);
        }
        (written, last.cloned())
    });
}

fn after_bound<E>(after: Option<&E>) -> Bound<&E> {
    after.map_or(Bound::Unbounded, Bound::Excluded)
}

fn write_len(out: &mut impl Write, len: usize) -> io::Result<()> {
    out.write_all(&(len as u64).to_le_bytes())
}

fn write_str(out: &mut impl Write, text: &str) -> io::Result<()> {
    write_len(out, text.len())?;
    out.write_all(text.as_bytes())
}

// ----- reading -----------------------------------------------------------------------------

/// Reads the index saved at `path`, with the count of writes it was saved at; `Ok(None)`
/// when there is no file, or one of another format or another version of hubcalls (whose
/// index may differ). Whether it can be brought up to date is the caller's to judge.
pub fn load(path: &Path) -> io::Result<Option<(SearchIndex, i64)>> {
    // Streamed, not read whole: at a million calls the file is ~400 MB, and fresh memory
    // for a copy of it costs more (the kernel zeroes every page) than reading it in pieces.
    let file = match File::open(path) {
        Ok(file) => file,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(error),
    };
    let mut input = Reader {
        left: file.metadata()?.len(),
        input: BufReader::with_capacity(1 << 16, file),
        text: Vec::new(),
    };
    if input.array::<16>()? != *MAGIC || input.u32()? != FORMAT_VERSION || input.str()? != BUILT_BY
    {
        return Ok(None);
    }
    let saved_at = input.i64()?;
    let mut index = SearchIndex::default();
    for _ in 0..input.count(8)? {
        let partition = Partition::from_key(input.i64()?)
            .ok_or_else(|| corrupt("a partition of no known object type"))?;
        index
            .partitions
            .insert(partition, read_portal(&mut input, path)?);
    }
    if input.left != 0 {
        return Err(corrupt("bytes after the end of the index"));
    }
    Ok(Some((index, saved_at)))
}

fn corrupt(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("index snapshot: {what}"),
    )
}

/// Reads the file (or a section of it) in order; every read checks the length left.
struct Reader<F> {
    input: BufReader<F>,
    /// Bytes of the file (or section) not read yet.
    left: u64,
    /// The last text read (see [`Reader::str`]).
    text: Vec<u8>,
}

impl Reader<File> {
    /// Where the next read starts in the file.
    fn position(&mut self) -> u64 {
        self.input.get_ref().metadata().map_or(0, |m| m.len()) - self.left
    }

    fn skip(&mut self, len: u64) -> io::Result<()> {
        if len > self.left {
            return Err(corrupt("truncated"));
        }
        let offset = i64::try_from(len).map_err(|_| corrupt("a section too long"))?;
        self.input.seek_relative(offset)?;
        self.left -= len;
        Ok(())
    }
}

impl<F: Read> Reader<F> {
    fn fill(&mut self, buffer: &mut [u8]) -> io::Result<()> {
        if buffer.len() as u64 > self.left {
            return Err(corrupt("truncated"));
        }
        self.input.read_exact(buffer)?;
        self.left -= buffer.len() as u64;
        Ok(())
    }

    fn array<const N: usize>(&mut self) -> io::Result<[u8; N]> {
        let mut array = [0; N];
        self.fill(&mut array)?;
        Ok(array)
    }

    fn u8(&mut self) -> io::Result<u8> {
        Ok(self.array::<1>()?[0])
    }

    fn u32(&mut self) -> io::Result<u32> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    fn u64(&mut self) -> io::Result<u64> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    fn i64(&mut self) -> io::Result<i64> {
        Ok(i64::from_le_bytes(self.array()?))
    }

    fn f64(&mut self) -> io::Result<f64> {
        Ok(f64::from_le_bytes(self.array()?))
    }

    /// A count of items, each at least `min_size` bytes: a count the rest of the file
    /// cannot hold is corruption, not a reason to reserve memory for it.
    fn count(&mut self, min_size: u64) -> io::Result<usize> {
        let count = self.u64()?;
        match usize::try_from(count) {
            Ok(n) if count.saturating_mul(min_size.max(1)) <= self.left => Ok(n),
            _ => Err(corrupt("a count past the end of the file")),
        }
    }

    /// The next text, borrowed until the next read.
    fn str(&mut self) -> io::Result<&str> {
        let len = self.count(1)?;
        let mut text = std::mem::take(&mut self.text);
        text.resize(len, 0);
        self.fill(&mut text)?;
        self.text = text;
        std::str::from_utf8(&self.text).map_err(|_| corrupt("text that is not UTF-8"))
    }
}

/// Where one property's maps are in the file.
struct Section {
    name: String,
    property_type: Option<PropertyType>,
    offset: u64,
    len: u64,
}

/// Reads the properties' maps on several threads, each with its own handle on the file:
/// most of the time is the kernel handing out fresh memory for the maps, which scales with
/// the cores.
fn read_properties(
    path: &Path,
    mut sections: Vec<Section>,
    slots: usize,
) -> io::Result<HashMap<String, PropertyIndex>> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(4));
    // Largest first, each to the least loaded thread.
    sections.sort_by_key(|section| std::cmp::Reverse(section.len));
    let mut shares: Vec<(u64, Vec<Section>)> = (0..threads).map(|_| (0, Vec::new())).collect();
    for section in sections {
        if let Some(share) = shares.iter_mut().min_by_key(|(load, _)| *load) {
            share.0 += section.len;
            share.1.push(section);
        }
    }
    std::thread::scope(|scope| {
        let workers: Vec<_> = shares
            .into_iter()
            .map(|(_, share)| scope.spawn(move || read_sections(path, share, slots)))
            .collect();
        let mut properties = HashMap::new();
        for worker in workers {
            let read = worker
                .join()
                .map_err(|_| corrupt("a thread reading it panicked"))??;
            properties.extend(read);
        }
        Ok(properties)
    })
}

fn read_sections(
    path: &Path,
    sections: Vec<Section>,
    slots: usize,
) -> io::Result<Vec<(String, PropertyIndex)>> {
    let mut file = File::open(path)?;
    let mut read = Vec::with_capacity(sections.len());
    for section in sections {
        file.seek(SeekFrom::Start(section.offset))?;
        let mut input = Reader {
            input: BufReader::with_capacity(1 << 16, &mut file),
            left: section.len,
            text: Vec::new(),
        };
        let values = read_postings(&mut input, slots)?;
        let tokens = read_postings(&mut input, slots)?;
        if input.left != 0 {
            return Err(corrupt("a property section longer than its maps"));
        }
        read.push((
            section.name,
            PropertyIndex {
                property_type: section.property_type,
                values,
                tokens,
            },
        ));
    }
    Ok(read)
}

fn read_portal(input: &mut Reader<File>, path: &Path) -> io::Result<PartitionIndex> {
    let slots = input.count(16)?;
    let mut ids = Vec::with_capacity(slots);
    let mut created = Vec::with_capacity(slots);
    for _ in 0..slots {
        ids.push(input.u64()?);
        created.push(input.i64()?);
    }
    let slot_of: HashMap<u64, u32> = ids
        .iter()
        .enumerate()
        .map(|(slot, id)| (*id, slot as u32))
        .collect();
    let words = input.count(8)?;
    let mut live = Bitmap {
        words: Vec::with_capacity(words),
    };
    for _ in 0..words {
        live.words.push(input.u64()?);
    }
    let live_count = input.u64()? as usize;
    let entries = input.count(20)?;
    let mut by_created = Vec::with_capacity(entries);
    for _ in 0..entries {
        by_created.push((input.i64()?, input.u64()?, input.u32()?));
    }
    let by_created: BTreeSet<(i64, u64, u32)> = by_created.into_iter().collect();
    let mut sections = Vec::new();
    for _ in 0..input.count(18)? {
        let name = input.str()?.to_owned();
        let property_type = match input.u8()? {
            u8::MAX => None,
            n => Some(
                *PROPERTY_TYPES
                    .get(n as usize)
                    .ok_or_else(|| corrupt("an unknown property type"))?,
            ),
        };
        let len = input.count(1)? as u64;
        sections.push(Section {
            name,
            property_type,
            offset: input.position(),
            len,
        });
        input.skip(len)?;
    }
    let properties = read_properties(path, sections, slots)?;
    let mut associations = HashMap::new();
    for _ in 0..input.count(24)? {
        let kind = *ASSOCIATED_KINDS
            .get(input.u64()? as usize)
            .ok_or_else(|| corrupt("an unknown associated kind"))?;
        let rows = input.count(16)?;
        let mut row_list = Vec::with_capacity(rows);
        for _ in 0..rows {
            row_list.push((input.u64()?, input.u32()?, input.u32()?));
        }
        let values = read_postings(input, slots)?;
        associations.insert(
            kind,
            AssociationIndex {
                rows: row_list.into_iter().collect(),
                values,
            },
        );
    }
    Ok(PartitionIndex {
        slot_of,
        ids,
        created,
        live,
        live_count,
        by_created,
        properties,
        associations,
    })
}

fn read_postings<F: Read>(
    input: &mut Reader<F>,
    slots: usize,
) -> io::Result<BTreeMap<Key, Posting>> {
    let count = input.count(9)?;
    let mut entries = Vec::with_capacity(count);
    for _ in 0..count {
        let key = match input.u8()? {
            0 => Key::Num(input.f64()?),
            1 => Key::Text(input.str()?.into()),
            _ => return Err(corrupt("an unknown key kind")),
        };
        let holders = input.u32()? as usize;
        let posting = match holders {
            0 => return Err(corrupt("a value held by no call")),
            1 => Posting::One(input.u32()?),
            _ => {
                let mut list = Vec::with_capacity(holders.min(slots));
                for _ in 0..holders {
                    list.push(input.u32()?);
                }
                Posting::from_sorted(list)
            }
        };
        entries.push((key, posting));
    }
    // Written in key order: collecting sorted pairs builds the map in one pass.
    Ok(entries.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::super::{Entry, IndexOp};
    use super::*;

    fn call(portal: u32, id: u64, created: i64, values: &[(&str, PropertyType, &str)]) -> IndexOp {
        IndexOp::Record {
            partition: Partition::calls(portal),
            id,
            before_created: None,
            after_created: Some(created),
            remove: Vec::new(),
            add: values
                .iter()
                .map(|(name, property_type, raw)| Entry::new(name, *property_type, raw))
                .collect(),
        }
    }

    /// An index with every kind of content: two portals, numbers and text, shared and
    /// unique values, tokens, an archived call, a removed value and associations.
    fn sample() -> SearchIndex {
        let mut index = SearchIndex::default();
        for id in 1..=40u64 {
            index.apply(call(
                1,
                id,
                1_700_000_000_000 + id as i64,
                &[
                    (
                        "hs_call_title",
                        PropertyType::String,
                        &format!("Call {id} about pricing"),
                    ),
                    (
                        "hs_call_duration",
                        PropertyType::Number,
                        &(id * 1000).to_string(),
                    ),
                    (
                        "hs_call_direction",
                        PropertyType::Enumeration,
                        if id % 2 == 0 { "INBOUND" } else { "OUTBOUND" },
                    ),
                ],
            ));
        }
        index.apply(call(
            2,
            99,
            5,
            &[("hs_call_title", PropertyType::String, "other portal")],
        ));
        index.apply(IndexOp::Record {
            partition: Partition::calls(1),
            id: 7,
            before_created: Some(1_700_000_000_007),
            after_created: None,
            remove: vec![("hs_call_title".into(), "Call 7 about pricing".into())],
            add: Vec::new(),
        });
        index.apply(IndexOp::AddAssociation {
            partition: Partition::calls(1),
            call_id: 3,
            kind: ObjectType::CONTACTS,
            to_id: 501,
            type_id: 194,
        });
        index.apply(IndexOp::AddAssociation {
            partition: Partition::calls(1),
            call_id: 4,
            kind: ObjectType::DEALS,
            to_id: 777,
            type_id: 206,
        });
        index
    }

    fn save_sample(path: &Path, saved_at: i64) -> SearchIndex {
        let lock = RwLock::new(sample());
        save(&lock, path, saved_at).unwrap();
        lock.into_inner().unwrap()
    }

    #[test]
    fn an_index_reads_back_as_it_was_saved() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hubcalls.index");
        let index = save_sample(&path, 12);
        let (loaded, saved_at) = load(&path).unwrap().expect("a saved index");
        assert_eq!(saved_at, 12);
        assert!(
            loaded == index,
            "the loaded index differs from the saved one"
        );
    }

    #[test]
    fn maps_longer_than_a_chunk_read_back_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hubcalls.index");
        let mut index = SearchIndex::default();
        let count = CHUNK as u64 * 2 + 5;
        for id in 1..=count {
            index.apply(call(
                1,
                id,
                id as i64,
                &[(
                    "hs_call_title",
                    PropertyType::String,
                    &format!("title {id}"),
                )],
            ));
            index.apply(IndexOp::AddAssociation {
                partition: Partition::calls(1),
                call_id: id,
                kind: ObjectType::CONTACTS,
                to_id: id % 7,
                type_id: 194,
            });
        }
        let lock = RwLock::new(index);
        save(&lock, &path, 3).unwrap();
        let (loaded, _) = load(&path).unwrap().expect("a saved index");
        assert!(loaded == lock.into_inner().unwrap());
    }

    #[test]
    fn no_file_reads_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hubcalls.index");
        assert!(load(&path).unwrap().is_none());
    }

    #[test]
    fn a_truncated_or_altered_file_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hubcalls.index");
        save_sample(&path, 1);
        let bytes = std::fs::read(&path).unwrap();
        for cut in [40, bytes.len() / 2, bytes.len() - 1] {
            std::fs::write(&path, &bytes[..cut]).unwrap();
            assert!(load(&path).is_err(), "cut at {cut}");
        }
        let mut grown = bytes.clone();
        grown.push(0);
        std::fs::write(&path, &grown).unwrap();
        assert!(load(&path).is_err(), "trailing bytes");
    }
}
