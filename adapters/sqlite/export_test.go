package sqlite

// ReadThroughWriter sends s's plain reads to the writer connection too,
// for the benchmarks that measure what the reader pool buys.
func ReadThroughWriter(s *Store) { s.repos.r = s.repos.w }
