import Components
import RepositoryCore

/// Offline backups read stdin straight into the chunker's buffer.
extension FileDescriptorReader: DumpReader {}
