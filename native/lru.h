// A bounded cache of oneDNN primitives keyed by shape, least recently used out first. Training and
// inference keep meeting new shapes (every sequence length, every count of masked tokens); an
// unbounded map grew the resident set for as long as a run lasted (test/robustness memory check).
#pragma once
#include <cstddef>
#include <list>
#include <memory>
#include <unordered_map>
#include <utility>

namespace distil {

// Primitives kept per cache: a few hundred shapes of each kind, some 10-100 KB each; re-creating
// an evicted one costs well under a millisecond.
constexpr size_t kPrimitiveCacheSize = 1024;

template <typename K, typename V, typename Hash>
class LruCache {
 public:
  // The cached value, moved to the front, or nullptr.
  V* find(const K& k) {
    auto it = map_.find(k);
    if (it == map_.end()) return nullptr;
    order_.splice(order_.begin(), order_, it->second);
    return it->second->second.get();
  }

  // Insert (k is not cached); evicts the least recently used entry past the size. The reference
  // stays valid until the next insert.
  V& insert(const K& k, std::unique_ptr<V> v) {
    order_.emplace_front(k, std::move(v));
    map_[k] = order_.begin();
    if (map_.size() > kPrimitiveCacheSize) {
      map_.erase(order_.back().first);
      order_.pop_back();
    }
    return *order_.front().second;
  }

 private:
  using Entry = std::pair<K, std::unique_ptr<V>>;
  std::list<Entry> order_;
  std::unordered_map<K, typename std::list<Entry>::iterator, Hash> map_;
};

}  // namespace distil
