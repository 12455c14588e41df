import {
  type KyselyPlugin,
  type PluginTransformQueryArgs,
  type PluginTransformResultArgs,
  type QueryResult,
  type RootOperationNode,
  type UnknownRow,
  WithSchemaPlugin,
} from 'kysely';

/**
 * Kysely's `withSchema` plugin (carebase's tables live in `config.schema`), without its work on a
 * raw statement whose parameters are all values (`sql\`... ${value} ...\``, the commonest raw
 * query): Kysely's transformer only copies such a node (a raw statement is not a root query node,
 * so nothing in it is qualified), which cost ~1.5 µs of a trivial query's ~25 µs of client CPU.
 * Every other statement, including raw SQL that embeds identifiers, tables or query builders, goes
 * through Kysely's plugin unchanged.
 */
export class SchemaPlugin implements KyselyPlugin {
  readonly #inner: WithSchemaPlugin;

  constructor(schema: string) {
    this.#inner = new WithSchemaPlugin(schema);
  }

  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    const { node } = args;
    if (node.kind === 'RawNode' && node.parameters.every((parameter) => parameter.kind === 'ValueNode')) {
      return node;
    }
    return this.#inner.transformQuery(args);
  }

  transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return this.#inner.transformResult(args);
  }
}
