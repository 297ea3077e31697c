// A secret config value that cannot leak by accident: printing, logging, JSON-encoding or string-interpolating
// it yields a redaction marker. Only `reveal()` returns the text, and only the places that must hand it to
// Pulumi as a secret Output, or send it as the prewarm token, call it.
import * as util from "util";
import * as pulumi from "@pulumi/pulumi";

export class SecretValue {
  readonly #value: string;
  /** The config key it came from, for messages. */
  readonly key: string;
  /** True for a stand-in (synth shows encrypted values as placeholders and cannot decrypt them). */
  readonly placeholder: boolean;

  constructor(key: string, value: string, placeholder = false) {
    this.key = key;
    this.#value = value;
    this.placeholder = placeholder;
  }

  /** A stand-in for an encrypted value `synth` cannot decrypt; it reads as `<secret:key>`. */
  static placeholderFor(key: string): SecretValue {
    return new SecretValue(key, `<secret:${key}>`, true);
  }

  reveal(): string {
    return this.#value;
  }

  /** The value as a Pulumi secret, so state, previews and outputs show it encrypted or masked. */
  toOutput(): pulumi.Output<string> {
    return pulumi.secret(this.#value);
  }

  toString(): string {
    return `[secret ${this.key}]`;
  }

  toJSON(): string {
    return this.toString();
  }

  [util.inspect.custom](): string {
    return this.toString();
  }
}
