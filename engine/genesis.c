/*
 * genesis.c - reads the genesis YAML (libyaml's document API) and turns each
 * participant into a register command signed by "genesis" (genesis.h).
 */
#include <stdio.h>
#include <string.h>
#include <yaml.h>

#include "settle/alloc.h"
#include "settle/genesis.h"

/* One participant's fields as read, before encoding. */
typedef struct {
    const char *id, *role, *public_key, *key_file, *name, *npi;
} s_fields_t;

static int s_at(settle_error_t *error, const yaml_node_t *node, int code, const char *what)
{
    settle_error_at_line(error, (uint32_t)node->start_mark.line + 1,
                         (uint32_t)node->start_mark.column + 1);
    return settle_error_set(error, code, "%s", what);
}

static const char *s_scalar(const yaml_node_t *node)
{
    return node && node->type == YAML_SCALAR_NODE ? (const char *)node->data.scalar.value : NULL;
}

/* The public key from public_key, or from the FILE.pub named by key_file
 * relative to the genesis file's folder. */
static int s_public_key(const char *path, const s_fields_t *f, const yaml_node_t *node,
                        uint8_t key_out[SIGN_PUBLIC_KEY_SIZE], settle_error_t *error)
{
    char hex[SIGN_PUBLIC_KEY_HEX_SIZE + 8] = "";
    if (f->public_key) {
        snprintf(hex, sizeof hex, "%s", f->public_key);
    } else if (f->key_file) {
        char full[1024];
        const char *slash = strrchr(path, '/');
        int folder = slash && f->key_file[0] != '/' ? (int)(slash - path + 1) : 0;
        snprintf(full, sizeof full, "%.*s%s", folder, path, f->key_file);
        FILE *file = fopen(full, "r");
        if (!file)
            return s_at(error, node, SETTLE_ERR_IO, "key_file: cannot open");
        size_t n = fread(hex, 1, sizeof hex - 1, file);
        fclose(file);
        while (n > 0 && (hex[n - 1] == '\n' || hex[n - 1] == '\r' || hex[n - 1] == ' '))
            n--;
        hex[n] = '\0';
    } else {
        return s_at(error, node, SETTLE_ERR_MISSING, "participant: public_key or key_file needed");
    }
    if (sign_public_key_parse(hex, strlen(hex), key_out) != SETTLE_OK)
        return s_at(error, node, SETTLE_ERR_INVALID, "public key: expected 64 hex digits");
    return SETTLE_OK;
}

static int s_role(const char *name)
{
    for (int role = COMMAND_ROLE_PAYER; role <= COMMAND_ROLE_NODE; role++)
        if (strcmp(name, command_role_name(role)) == 0)
            return role;
    return 0;
}

/* Reads the mapping of one participant into f; refuses unknown keys. */
static int s_fields(yaml_document_t *doc, yaml_node_t *node, s_fields_t *f, settle_error_t *error)
{
    memset(f, 0, sizeof *f);
    if (node->type != YAML_MAPPING_NODE)
        return s_at(error, node, SETTLE_ERR_SYNTAX, "participant: expected a mapping");
    for (yaml_node_pair_t *p = node->data.mapping.pairs.start; p < node->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = yaml_document_get_node(doc, p->key);
        yaml_node_t *v = yaml_document_get_node(doc, p->value);
        const char *key = s_scalar(k), *value = s_scalar(v);
        if (!key || !value)
            return s_at(error, k ? k : node, SETTLE_ERR_SYNTAX, "expected key: value");
        const char **slot = strcmp(key, "id") == 0           ? &f->id
                            : strcmp(key, "role") == 0       ? &f->role
                            : strcmp(key, "public_key") == 0 ? &f->public_key
                            : strcmp(key, "key_file") == 0   ? &f->key_file
                            : strcmp(key, "name") == 0       ? &f->name
                            : strcmp(key, "npi") == 0        ? &f->npi
                                                             : NULL;
        if (!slot)
            return s_at(error, k, SETTLE_ERR_UNKNOWN_KEY,
                        "unknown key (expected id, role, public_key, key_file, name, npi)");
        *slot = value;
    }
    if (!f->id || !f->role)
        return s_at(error, node, SETTLE_ERR_MISSING, "participant: id and role are required");
    return SETTLE_OK;
}

/* One participant as the register command genesis signs with sequence. */
static int s_participant(const char *path, yaml_document_t *doc, yaml_node_t *node,
                         uint64_t sequence, uint8_t **bytes_out, size_t *size_out,
                         settle_error_t *error)
{
    s_fields_t f;
    command_register_t value;
    memset(&value, 0, sizeof value);
    int rc = s_fields(doc, node, &f, error);
    if (rc == SETTLE_OK)
        rc = s_public_key(path, &f, node, value.public_key, error);
    if (rc != SETTLE_OK)
        return rc;
    value.role = (uint8_t)s_role(f.role);
    if (!value.role)
        return s_at(error, node, SETTLE_ERR_INVALID,
                    "role: expected payer, provider, auditor or node");
    snprintf(value.participant, sizeof value.participant, "%s", f.id);
    snprintf(value.display_name, sizeof value.display_name, "%s", f.name ? f.name : f.id);
    snprintf(value.npi, sizeof value.npi, "%s", f.npi ? f.npi : "");
    uint8_t *payload = NULL;
    size_t payload_size = 0;
    settle_error_t check;
    settle_error_clear(&check);
    if (command_register_encode(&value, &payload, &payload_size) != SETTLE_OK ||
        command_register_decode(payload, payload_size, &value, &check) != SETTLE_OK) {
        settle_free(payload);
        return s_at(error, node, SETTLE_ERR_INVALID,
                    check.message[0] ? check.message
                                     : "participant: cannot be registered (a provider needs a "
                                       "ten-digit NPI, other roles none; id and name not empty)");
    }
    command_t command;
    memset(&command, 0, sizeof command);
    command.type = COMMAND_REGISTER;
    snprintf(command.participant, sizeof command.participant, "%s", COMMAND_GENESIS_PARTICIPANT);
    command.sequence = sequence;
    command.payload = payload;
    command.payload_size = payload_size;
    rc = command_encode(&command, bytes_out, size_out);
    settle_free(payload);
    return rc;
}

/* Walks the document's "participants" sequence into genesis. */
static int s_document(const char *path, yaml_document_t *doc, genesis_t *genesis,
                      settle_error_t *error)
{
    yaml_node_t *root = yaml_document_get_root_node(doc);
    if (!root || root->type != YAML_MAPPING_NODE)
        return settle_error_set(error, SETTLE_ERR_SYNTAX, "expected a mapping with participants");
    yaml_node_t *list = NULL;
    for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = yaml_document_get_node(doc, p->key);
        const char *key = s_scalar(k);
        if (!key || strcmp(key, "participants") != 0)
            return s_at(error, k, SETTLE_ERR_UNKNOWN_KEY, "unknown key (expected participants)");
        list = yaml_document_get_node(doc, p->value);
    }
    if (!list || list->type != YAML_SEQUENCE_NODE)
        return s_at(error, list ? list : root, SETTLE_ERR_MISSING, "participants: expected a list");
    for (yaml_node_item_t *i = list->data.sequence.items.start; i < list->data.sequence.items.top;
         i++) {
        yaml_node_t *node = yaml_document_get_node(doc, *i);
        if (genesis->count == GENESIS_PARTICIPANTS_MAX)
            return s_at(error, node, SETTLE_ERR_TOO_MANY, "too many participants");
        int rc = s_participant(path, doc, node, genesis->count, &genesis->commands[genesis->count],
                               &genesis->sizes[genesis->count], error);
        if (rc != SETTLE_OK)
            return rc;
        genesis->count++;
    }
    if (genesis->count == 0)
        return s_at(error, list, SETTLE_ERR_MISSING, "participants: the list is empty");
    return SETTLE_OK;
}

/* Parses the file; the document is the caller's when SETTLE_OK. */
static int s_parse(FILE *file, yaml_document_t *doc, settle_error_t *error)
{
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser))
        return settle_error_set(error, SETTLE_ERR_NOMEM, "out of memory");
    yaml_parser_set_input_file(&parser, file);
    int rc = SETTLE_OK;
    if (!yaml_parser_load(&parser, doc)) {
        settle_error_at_line(error, (uint32_t)parser.problem_mark.line + 1,
                             (uint32_t)parser.problem_mark.column + 1);
        rc = settle_error_set(error, SETTLE_ERR_SYNTAX, "%s",
                              parser.problem ? parser.problem : "bad YAML");
    } else if (!yaml_document_get_root_node(doc)) {
        yaml_document_delete(doc);
        rc = settle_error_set(error, SETTLE_ERR_MISSING, "empty file");
    }
    yaml_parser_delete(&parser);
    return rc;
}

int genesis_load(const char *path, genesis_t **genesis_out, settle_error_t *error)
{
    settle_error_file(error, path);
    FILE *file = fopen(path, "rb");
    if (!file)
        return settle_error_set(error, SETTLE_ERR_IO, "cannot open");
    yaml_document_t doc;
    int rc = s_parse(file, &doc, error);
    fclose(file);
    if (rc != SETTLE_OK)
        return rc;
    genesis_t *genesis = settle_calloc(1, sizeof *genesis);
    rc = genesis ? s_document(path, &doc, genesis, error)
                 : settle_error_set(error, SETTLE_ERR_NOMEM, "out of memory");
    yaml_document_delete(&doc);
    if (rc != SETTLE_OK) {
        genesis_destroy(&genesis);
        return rc;
    }
    *genesis_out = genesis;
    return SETTLE_OK;
}

void genesis_destroy(genesis_t **genesis_p)
{
    if (!genesis_p || !*genesis_p)
        return;
    for (uint32_t i = 0; i < (*genesis_p)->count; i++)
        settle_free((*genesis_p)->commands[i]);
    settle_free(*genesis_p);
    *genesis_p = NULL;
}

int genesis_entry(const genesis_t *genesis, uint64_t timestamp_ms, uint8_t **bytes_out,
                  size_t *size_out)
{
    return command_entry_encode(timestamp_ms, (const uint8_t *const *)genesis->commands,
                                genesis->sizes, genesis->count, bytes_out, size_out);
}
