//! The search index written to a file at a clean shutdown and read back at start-up, so a
//! large store is searchable at once instead of after decoding and re-indexing every row.
//!
//! The file is only a cache of what the rows say. The store counts its committed write
//! transactions in its `meta` table (in each transaction itself); the file names the count
//! it was saved at, and is honoured only while the count is unchanged: any later write, by
//! this process or another, or a crash after one, makes it stale. A store saves the file
//! only when the count is still the one its index has seen, so an index that missed
//! another process's writes is never saved.
//!
//! Format: little-endian, length-prefixed, in the order of the structures in `mod.rs` and `postings.rs`.
//! Maps are written in key order, so reading them back is a bulk build, not a search per
//! entry.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::Path;

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

/// Writes `index` to `path` (through a temporary file and a rename, so a crash leaves the
/// old file or the new one, never half of one).
pub fn save(index: &SearchIndex, path: &Path, writes: i64) -> io::Result<()> {
    let partial = path.with_extension("partial");
    let file = File::create(&partial)?;
    let mut out = BufWriter::with_capacity(1 << 20, file);
    out.write_all(MAGIC)?;
    out.write_all(&FORMAT_VERSION.to_le_bytes())?;
    write_str(&mut out, BUILT_BY)?;
    out.write_all(&writes.to_le_bytes())?;
    write_len(&mut out, index.partitions.len())?;
    for (partition, partition_index) in &index.partitions {
        out.write_all(&partition.key().to_le_bytes())?;
        write_portal(&mut out, partition_index)?;
    }
    let file = out.into_inner().map_err(|e| e.into_error())?;
    file.sync_all()?;
    std::fs::rename(&partial, path)
}

/// Reads the index saved at `path` when the store had committed `writes` write
/// transactions; `Ok(None)` when there is no file, or it was saved at another count, by
/// another format or by another version of hubcalls (whose index may differ).
pub fn load(path: &Path, writes: i64) -> io::Result<Option<SearchIndex>> {
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
    if input.array::<16>()? != *MAGIC
        || input.u32()? != FORMAT_VERSION
        || input.str()? != BUILT_BY
        || input.i64()? != writes
    {
        return Ok(None);
    }
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
    Ok(Some(index))
}

// ----- writing -----------------------------------------------------------------------------

fn write_len(out: &mut impl Write, len: usize) -> io::Result<()> {
    out.write_all(&(len as u64).to_le_bytes())
}

fn write_str(out: &mut impl Write, text: &str) -> io::Result<()> {
    write_len(out, text.len())?;
    out.write_all(text.as_bytes())
}

fn write_portal(out: &mut impl Write, index: &PartitionIndex) -> io::Result<()> {
    // Slots in order: the id and created instant of each (the slot map is rebuilt from ids).
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
    write_len(out, index.properties.len())?;
    for (name, property) in &index.properties {
        write_str(out, name)?;
        let type_number = property
            .property_type
            .and_then(|t| PROPERTY_TYPES.iter().position(|known| *known == t))
            .map_or(u8::MAX, |n| n as u8);
        out.write_all(&[type_number])?;
        // A section of known length, so the reader can hand sections to several threads.
        let mut section = Vec::new();
        write_postings(&mut section, &property.values)?;
        write_postings(&mut section, &property.tokens)?;
        write_len(out, section.len())?;
        out.write_all(&section)?;
    }
    write_len(out, index.associations.len())?;
    for (kind, associations) in &index.associations {
        let number = ASSOCIATED_KINDS
            .iter()
            .position(|known| known == kind)
            .unwrap_or(usize::MAX);
        write_len(out, number)?;
        write_len(out, associations.rows.len())?;
        for (to_id, slot, type_id) in &associations.rows {
            out.write_all(&to_id.to_le_bytes())?;
            out.write_all(&slot.to_le_bytes())?;
            out.write_all(&type_id.to_le_bytes())?;
        }
        write_postings(out, &associations.values)?;
    }
    Ok(())
}

fn write_postings(out: &mut impl Write, map: &BTreeMap<Key, Posting>) -> io::Result<()> {
    write_len(out, map.len())?;
    for (key, posting) in map {
        match key {
            Key::Num(n) => {
                out.write_all(&[0])?;
                out.write_all(&n.to_le_bytes())?;
            }
            Key::Text(text) => {
                out.write_all(&[1])?;
                write_str(out, text)?;
            }
        }
        let slots = posting.slots();
        out.write_all(&(slots.len() as u32).to_le_bytes())?;
        for slot in slots {
            out.write_all(&slot.to_le_bytes())?;
        }
    }
    Ok(())
}

// ----- reading -----------------------------------------------------------------------------

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
                Posting::Many(list)
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

    #[test]
    fn an_index_reads_back_as_it_was_saved() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hubcalls.index");
        let index = sample();
        save(&index, &path, 12).unwrap();
        let loaded = load(&path, 12).unwrap().expect("same count of writes");
        assert!(
            loaded == index,
            "the loaded index differs from the saved one"
        );
    }

    #[test]
    fn another_count_of_writes_or_no_file_reads_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hubcalls.index");
        assert!(load(&path, 0).unwrap().is_none());
        save(&sample(), &path, 12).unwrap();
        assert!(load(&path, 13).unwrap().is_none());
    }

    #[test]
    fn a_truncated_or_altered_file_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hubcalls.index");
        save(&sample(), &path, 1).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        for cut in [40, bytes.len() / 2, bytes.len() - 1] {
            std::fs::write(&path, &bytes[..cut]).unwrap();
            assert!(load(&path, 1).is_err(), "cut at {cut}");
        }
        let mut grown = bytes.clone();
        grown.push(0);
        std::fs::write(&path, &grown).unwrap();
        assert!(load(&path, 1).is_err(), "trailing bytes");
    }
}
