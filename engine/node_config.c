/*
 * node_config.c - reads settled's YAML configuration (node.h) with
 * libyaml's document API; every error names FILE:LINE:COLUMN.
 */
#include <errno.h>
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
    } else if (strcmp(key, "intake") == 0) {
        if (s_copy(intake, NODE_ADDRESS_SIZE, value) || !s_loopback(value, "tcp://127.0.0.1:"))
            return s_at(error, where, SETTLE_ERR_INVALID, "expected tcp://127.0.0.1:PORT", value);
    } else if (!peer && strcmp(key, "data_dir") == 0) {
        if (s_copy(c->data_dir, sizeof c->data_dir, value))
            return s_at(error, where, SETTLE_ERR_TOO_LONG, "data_dir: too long", NULL);
    } else if (!peer && strcmp(key, "genesis") == 0) {
        if (s_copy(c->genesis, sizeof c->genesis, value))
            return s_at(error, where, SETTLE_ERR_TOO_LONG, "genesis: too long", NULL);
    } else if (!peer && (strcmp(key, "election_timeout_ms") == 0 ||
                         strcmp(key, "heartbeat_timeout_ms") == 0)) {
        long long ms = s_number(value, 60000);
        if (ms < 0)
            return s_at(error, where, SETTLE_ERR_INVALID, "expected 1..60000 ms", value);
        *(key[0] == 'e' ? &c->election_timeout_ms : &c->heartbeat_timeout_ms) = (unsigned)ms;
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

/* Defaults, and this node's own entry in peers; a relative genesis path is
 * taken from the config file's folder. */
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
    if (!c->election_timeout_ms)
        c->election_timeout_ms = 1000;
    if (!c->heartbeat_timeout_ms)
        c->heartbeat_timeout_ms = 100;
    const char *slash = strrchr(path, '/');
    if (c->genesis[0] != '/' && slash) {
        char full[NODE_PATH_SIZE];
        if ((size_t)snprintf(full, sizeof full, "%.*s%s", (int)(slash - path + 1), path,
                             c->genesis) >= sizeof full)
            return settle_error_set(error, SETTLE_ERR_TOO_LONG, "genesis: path too long");
        s_copy(c->genesis, sizeof c->genesis, full);
    }
    return SETTLE_OK;
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
