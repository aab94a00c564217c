/*
 * node_config.c - reads settled's YAML configuration (node.h) with
 * libyaml's document API; every error names FILE:LINE:COLUMN.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "settle/node.h"

static int s_at(settle_error_t *error, const yaml_node_t *node, int code, const char *what,
                const char *value)
{
    settle_error_at_line(error, (uint32_t)node->start_mark.line + 1,
                         (uint32_t)node->start_mark.column + 1);
    return settle_error_set(error, code, "%s%s%s%s", what, value ? " (found \"" : "",
                            value ? value : "", value ? "\")" : "");
}

static const char *s_scalar(const yaml_node_t *node)
{
    return node && node->type == YAML_SCALAR_NODE ? (const char *)node->data.scalar.value : NULL;
}

/* A decimal number in [1, max]; -1 when it is not one. */
static long long s_number(const char *text, long long max)
{
    if (!text || text[0] < '0' || text[0] > '9')
        return -1;
    errno = 0;
    char *end = NULL;
    long long value = strtoll(text, &end, 10);
    return errno || *end || value < 1 || value > max ? -1 : value;
}

static int s_copy(char *out, size_t size, const char *value)
{
    return (size_t)snprintf(out, size, "%s", value) < size ? 0 : -1;
}

/* Both address forms must be on loopback with a port. */
static int s_loopback(const char *address, const char *prefix)
{
    size_t n = strlen(prefix);
    return strncmp(address, prefix, n) == 0 && s_number(address + n, 65535) > 0;
}

/* A number key of this node's own: name, limits, where it goes. */
typedef struct {
    const char *name;
    long long max;
    size_t offset;
} s_number_key_t;

static const s_number_key_t s_numbers[] = {
    {"election_timeout_ms", 60000, offsetof(node_config_t, election_timeout_ms)},
    {"heartbeat_timeout_ms", 60000, offsetof(node_config_t, heartbeat_timeout_ms)},
    {"snapshot_threshold", 1u << 30, offsetof(node_config_t, snapshot_threshold)},
    {"log_segment_size", 1u << 30, offsetof(node_config_t, log_segment_size)},
    {"snapshot_log_max_mib", 1u << 20, offsetof(node_config_t, snapshot_log_max_mib)},
    {"install_snapshot_timeout_ms", 3600000, offsetof(node_config_t, install_snapshot_timeout_ms)},
    {"queue_length", 1u << 20, offsetof(node_config_t, queue_length)},
    {"message_size_max", 1u << 30, offsetof(node_config_t, message_size_max)},
    {"entry_commands_max", COMMAND_ENTRY_COMMANDS_MAX, offsetof(node_config_t, entry_commands_max)},
    {"entry_bytes_max", 1u << 30, offsetof(node_config_t, entry_bytes_max)},
    {"verify_threads", NODE_VERIFY_THREADS_MAX, offsetof(node_config_t, verify_threads)},
};

/* One string key of this node's own: name, where it goes, its size. */
typedef struct {
    const char *name;
    size_t offset;
    size_t size;
} s_string_key_t;

static const s_string_key_t s_strings[] = {
    {"data_dir", offsetof(node_config_t, data_dir), NODE_PATH_SIZE},
    {"genesis", offsetof(node_config_t, genesis), NODE_PATH_SIZE},
    {"key", offsetof(node_config_t, key), NODE_PATH_SIZE},
    {"participant", offsetof(node_config_t, participant), COMMAND_PARTICIPANT_ID_SIZE},
    {"payer_tax_id", offsetof(node_config_t, payer_tax_id),
     sizeof(((node_config_t *)0)->payer_tax_id)},
};

/* A top-level key that peers do not have. */
static int s_node_key(node_config_t *c, const char *key, const char *value,
                      const yaml_node_t *key_node, const yaml_node_t *where, settle_error_t *error)
{
    for (size_t i = 0; i < sizeof s_numbers / sizeof s_numbers[0]; i++) {
        if (strcmp(key, s_numbers[i].name) != 0)
            continue;
        long long number = s_number(value, s_numbers[i].max);
        if (number < 0) {
            char what[96];
            snprintf(what, sizeof what, "%s: expected 1..%lld", key, s_numbers[i].max);
            return s_at(error, where, SETTLE_ERR_INVALID, what, value);
        }
        *(unsigned *)((char *)c + s_numbers[i].offset) = (unsigned)number;
        return SETTLE_OK;
    }
    for (size_t i = 0; i < sizeof s_strings / sizeof s_strings[0]; i++) {
        if (strcmp(key, s_strings[i].name) != 0)
            continue;
        if (!value[0] || s_copy((char *)c + s_strings[i].offset, s_strings[i].size, value)) {
            char what[64];
            snprintf(what, sizeof what, "%s: empty or too long", key);
            return s_at(error, where, SETTLE_ERR_TOO_LONG, what, NULL);
        }
        return SETTLE_OK;
    }
    if (strcmp(key, "checkpoint_interval") == 0) {
        /* 0 is a value here (never), so it is not one of s_numbers. */
        long long number = strcmp(value, "0") == 0 ? 0 : s_number(value, 1u << 30);
        if (number < 0)
            return s_at(error, where, SETTLE_ERR_INVALID,
                        "checkpoint_interval: expected 0..1073741824", value);
        c->checkpoint_interval = (unsigned)number;
        c->checkpoint_interval_set = true;
        return SETTLE_OK;
    }
    if (strcmp(key, "snapshot_log_percent") == 0) {
        /* 0 too: a snapshot every snapshot_threshold entries, whatever their size. */
        long long number = strcmp(value, "0") == 0 ? 0 : s_number(value, 10000);
        if (number < 0)
            return s_at(error, where, SETTLE_ERR_INVALID, "snapshot_log_percent: expected 0..10000",
                        value);
        c->snapshot_log_percent = (unsigned)number;
        c->snapshot_log_percent_set = true;
        return SETTLE_OK;
    }
    if (strcmp(key, "transport") == 0) {
        if (strcmp(value, "curve") && strcmp(value, "plain"))
            return s_at(error, where, SETTLE_ERR_INVALID, "transport: expected curve or plain",
                        value);
        s_copy(c->transport, sizeof c->transport, value);
        return SETTLE_OK;
    }
    if (strcmp(key, "log_level") == 0) {
        if (strcmp(value, "debug") && strcmp(value, "info") && strcmp(value, "warn") &&
            strcmp(value, "error"))
            return s_at(error, where, SETTLE_ERR_INVALID,
                        "log_level: expected debug, info, warn or error", value);
        s_copy(c->log_level, sizeof c->log_level, value);
        return SETTLE_OK;
    }
    return s_at(error, key_node, SETTLE_ERR_UNKNOWN_KEY, "unknown key", key);
}

/* One key of the top-level mapping or of a peer (peer != NULL). */
static int s_key(node_config_t *c, node_peer_t *peer, const char *key, const char *value,
                 const yaml_node_t *key_node, const yaml_node_t *where, settle_error_t *error)
{
    char *raft = peer ? peer->raft_address : c->raft_address;
    char *intake = peer ? peer->intake : c->intake;
    if (!value)
        return s_at(error, where, SETTLE_ERR_SYNTAX, "expected a scalar value", NULL);
    if (strcmp(key, "id") == 0) {
        long long id = s_number(value, NODE_PEERS_MAX);
        if (id < 0)
            return s_at(error, where, SETTLE_ERR_INVALID, "id: expected 1..7", value);
        *(peer ? &peer->id : &c->id) = (uint64_t)id;
    } else if (strcmp(key, "raft_address") == 0) {
        if (s_copy(raft, NODE_ADDRESS_SIZE, value) || !s_loopback(value, "127.0.0.1:"))
            return s_at(error, where, SETTLE_ERR_INVALID, "expected 127.0.0.1:PORT", value);
    } else if (strcmp(key, "intake") == 0 || strcmp(key, "events") == 0) {
        char *out = key[0] == 'i' ? intake : (peer ? peer->events : c->events);
        if (s_copy(out, NODE_ADDRESS_SIZE, value) || !s_loopback(value, "tcp://127.0.0.1:"))
            return s_at(error, where, SETTLE_ERR_INVALID, "expected tcp://127.0.0.1:PORT", value);
    } else if (!peer) {
        return s_node_key(c, key, value, key_node, where, error);
    } else {
        return s_at(error, key_node, SETTLE_ERR_UNKNOWN_KEY, "unknown key", key);
    }
    return SETTLE_OK;
}

/* Reads a mapping's pairs into c (or a peer of it). */
static int s_mapping(yaml_document_t *doc, yaml_node_t *map, node_config_t *c, node_peer_t *peer,
                     settle_error_t *error)
{
    if (map->type != YAML_MAPPING_NODE)
        return s_at(error, map, SETTLE_ERR_SYNTAX, "expected a mapping", NULL);
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = yaml_document_get_node(doc, p->key);
        yaml_node_t *v = yaml_document_get_node(doc, p->value);
        const char *key = s_scalar(k);
        int rc;
        if (!key)
            return s_at(error, k, SETTLE_ERR_SYNTAX, "expected a key", NULL);
        if (!peer && strcmp(key, "peers") == 0) {
            if (v->type != YAML_SEQUENCE_NODE)
                return s_at(error, v, SETTLE_ERR_SYNTAX, "peers: expected a list", NULL);
            for (yaml_node_item_t *i = v->data.sequence.items.start; i < v->data.sequence.items.top;
                 i++) {
                yaml_node_t *item = yaml_document_get_node(doc, *i);
                if (c->peer_count == NODE_PEERS_MAX)
                    return s_at(error, item, SETTLE_ERR_TOO_MANY, "peers: at most 7", NULL);
                rc = s_mapping(doc, item, c, &c->peers[c->peer_count], error);
                if (rc == SETTLE_OK &&
                    (!c->peers[c->peer_count].id || !c->peers[c->peer_count].raft_address[0] ||
                     !c->peers[c->peer_count].intake[0]))
                    rc = s_at(error, item, SETTLE_ERR_MISSING,
                              "peer: id, raft_address and intake are required", NULL);
                if (rc != SETTLE_OK)
                    return rc;
                c->peer_count++;
            }
            continue;
        }
        rc = s_key(c, peer, key, s_scalar(v), k, v, error);
        if (rc != SETTLE_OK)
            return rc;
    }
    return SETTLE_OK;
}

/* A relative path is taken from the config file's folder. */
static int s_relative(const char *config_path, char *path, const char *what, settle_error_t *error)
{
    const char *slash = strrchr(config_path, '/');
    if (!path[0] || path[0] == '/' || !slash)
        return SETTLE_OK;
    char full[NODE_PATH_SIZE];
    if ((size_t)snprintf(full, sizeof full, "%.*s%s", (int)(slash - config_path + 1), config_path,
                         path) >= sizeof full)
        return settle_error_set(error, SETTLE_ERR_TOO_LONG, "%s: path too long", what);
    s_copy(path, NODE_PATH_SIZE, full);
    return SETTLE_OK;
}

static void s_default(unsigned *value, unsigned fallback)
{
    if (!*value)
        *value = fallback;
}

/* Defaults, and this node's own entry in peers. */
static int s_finish(const char *path, node_config_t *c, settle_error_t *error)
{
    const node_peer_t *self = NULL;
    for (unsigned i = 0; i < c->peer_count; i++)
        if (c->peers[i].id == c->id)
            self = &c->peers[i];
    if (!c->id || !c->data_dir[0] || !c->genesis[0])
        return settle_error_set(error, SETTLE_ERR_MISSING, "id, data_dir and genesis are required");
    if (!self)
        return settle_error_set(error, SETTLE_ERR_MISSING, "peers: this node's id is not listed");
    if (!c->raft_address[0])
        s_copy(c->raft_address, sizeof c->raft_address, self->raft_address);
    if (!c->intake[0])
        s_copy(c->intake, sizeof c->intake, self->intake);
    if (!c->events[0])
        s_copy(c->events, sizeof c->events, self->events);
    if (!c->participant[0])
        snprintf(c->participant, sizeof c->participant, "node-%llu", (unsigned long long)c->id);
    if (!c->log_level[0])
        s_copy(c->log_level, sizeof c->log_level, "info");
    if (!c->transport[0])
        s_copy(c->transport, sizeof c->transport, "curve"); /* plain only when asked */
    if (strcmp(c->transport, "curve") == 0 && !c->key[0])
        return settle_error_set(error, SETTLE_ERR_MISSING,
                                "transport: curve (the default) needs the node's key (set "
                                "`key`: its Curve key pair is the Ed25519 key's), or say "
                                "`transport: plain` to serve unauthenticated TCP");
    s_default(&c->election_timeout_ms, 1000);
    s_default(&c->heartbeat_timeout_ms, 100);
    s_default(&c->snapshot_threshold, NODE_SNAPSHOT_THRESHOLD);
    s_default(&c->log_segment_size, NODE_LOG_SEGMENT_SIZE);
    s_default(&c->snapshot_log_max_mib, NODE_SNAPSHOT_LOG_MAX_MIB);
    s_default(&c->install_snapshot_timeout_ms, NODE_INSTALL_SNAPSHOT_MS);
    s_default(&c->queue_length, NODE_QUEUE_MAX);
    s_default(&c->message_size_max, NODE_MESSAGE_SIZE_MAX);
    s_default(&c->entry_commands_max, COMMAND_ENTRY_COMMANDS_MAX);
    s_default(&c->entry_bytes_max, NODE_ENTRY_BYTES_MAX);
    s_default(&c->verify_threads, NODE_VERIFY_THREADS);
    if (!c->checkpoint_interval_set)
        c->checkpoint_interval = NODE_CHECKPOINT_INTERVAL;
    if (!c->snapshot_log_percent_set)
        c->snapshot_log_percent = NODE_SNAPSHOT_LOG_PERCENT;
    /* The biggest entry: what is gathered, or one request alone. */
    unsigned entry_max =
        c->entry_bytes_max > c->message_size_max ? c->entry_bytes_max : c->message_size_max;
    if (c->log_segment_size % NODE_LOG_SEGMENT_UNIT != 0 || c->log_segment_size / 2 < entry_max)
        return settle_error_set(error, SETTLE_ERR_INVALID,
                                "log_segment_size: %u is not a multiple of %u at least twice the "
                                "biggest entry (%u: entry_bytes_max, or message_size_max for one "
                                "request alone)",
                                c->log_segment_size, NODE_LOG_SEGMENT_UNIT, entry_max);
    int rc = s_relative(path, c->genesis, "genesis", error);
    if (rc == SETTLE_OK)
        rc = s_relative(path, c->key, "key", error);
    return rc;
}

int node_config_load(const char *path, node_config_t *config_out, settle_error_t *error)
{
    settle_error_file(error, path);
    FILE *file = fopen(path, "rb");
    if (!file)
        return settle_error_set(error, SETTLE_ERR_IO, "cannot open: %s", strerror(errno));
    yaml_parser_t parser;
    yaml_document_t doc;
    int rc = SETTLE_OK;
    if (!yaml_parser_initialize(&parser)) {
        fclose(file);
        return settle_error_set(error, SETTLE_ERR_NOMEM, "out of memory");
    }
    yaml_parser_set_input_file(&parser, file);
    if (!yaml_parser_load(&parser, &doc)) {
        settle_error_at_line(error, (uint32_t)parser.problem_mark.line + 1,
                             (uint32_t)parser.problem_mark.column + 1);
        rc = settle_error_set(error, SETTLE_ERR_SYNTAX, "%s",
                              parser.problem ? parser.problem : "bad YAML");
    }
    yaml_parser_delete(&parser);
    fclose(file);
    if (rc != SETTLE_OK)
        return rc;
    node_config_t config;
    memset(&config, 0, sizeof config);
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    rc = root ? s_mapping(&doc, root, &config, NULL, error)
              : settle_error_set(error, SETTLE_ERR_MISSING, "empty file");
    yaml_document_delete(&doc);
    if (rc == SETTLE_OK)
        rc = s_finish(path, &config, error);
    if (rc == SETTLE_OK)
        *config_out = config;
    return rc;
}
