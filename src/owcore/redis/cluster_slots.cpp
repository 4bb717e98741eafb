#include "owcore/redis/cluster_slots.hpp"
