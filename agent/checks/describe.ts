// A check spec in words: what it reads and what it expects, for the check reference
// (docs/checks.md, scripts/docs/checks.ts). Data checks are described from their records; a
// custom check says what it reads itself (CustomCheck.reads).
import { FILE_SET_DESCRIPTIONS } from '../facts/control-plane-types.js';
import type { ValueSpec } from '../facts/component-settings.js';
import { describeTest } from './operators.js';
import { FILE_LOCATIONS } from './node-file-checks.js';
import type { CheckSpec, FileCheck, KubeletSetting } from './spec.js';
import { WIRE_EVIDENCE } from './wire-evidence.js';

const quoteDefault = (v: string | null): string => (v === null ? 'unset' : v === '' ? 'empty' : v);

function kubeletSettingText(s: KubeletSetting): string {
  const flag = s.flagKey ? `the ${s.flagKey} key of --${s.flag}` : `--${s.flag}`;
  const config = s.configPath.length > 0 ? ` (config file ${s.configPath.join('.')}, drop-ins included)` : '';
  const defaults = s.flagDefault === s.configDefault
    ? `default ${quoteDefault(s.flagDefault)}`
    : `default ${quoteDefault(s.flagDefault)} without --config, ${quoteDefault(s.configDefault)} with it`;
  return `The kubelet's ${flag}${config}; ${defaults}.`;
}

function componentValueText(v: ValueSpec): string {
  const gate = v.featureGate ? `the ${v.featureGate} gate of --${v.flag}` : `--${v.flag}`;
  const also = [v.env ? `${v.env}` : '', v.configPath ? `${v.configPath.join('.')} in its config file` : ''].filter(Boolean);
  return `${gate}${also.length ? ` (or ${also.join(', or ')})` : ''}, default ${quoteDefault(v.default)}`;
}

function fileReads(spec: FileCheck): string {
  const file = spec.file;
  if (file.from === 'kubelet-flag') {
    return file.withDropins === true
      ? `The ${spec.property} of the file the kubelet's --${file.flag} names, and of every drop-in of its --config-dir (the *.conf files it reads over that file). One result per file.`
      : `The ${spec.property} of the file the kubelet's --${file.flag} names.`;
  }
  const shared = file.from === 'kubelet-client-ca' && file.sharedWith !== undefined
    ? ` When that file is in the control plane's ${file.sharedWith.fileSet} file set, ${file.sharedWith.check} judges it (its result there carries this check's references) and this check skips it.`
    : '';
  return `The ${spec.property} of ${FILE_LOCATIONS[file.from]}.${shared}`;
}

/** What a check reads, in words: its own reading, then what its wire probe adds (CheckMeta.wire). */
export function checkReads(spec: CheckSpec): string {
  const own = ownReads(spec);
  if (spec.wire === undefined) return own;
  return `${own} ${WIRE_EVIDENCE[spec.wire].reads} What the probe sees otherwise joins the reason; it never makes a failing setting pass. With --no-probe the setting alone decides.`;
}

function ownReads(spec: CheckSpec): string {
  switch (spec.kind) {
    case 'kubelet-setting':
      return spec.actsOn === 'client-certificate'
        ? `${kubeletSettingText(spec.setting)} Skipped for a kubelet whose kubeconfig (--kubeconfig) authenticates with a bearer token or a credential plugin (exec, auth-provider) and no client certificate: it has none to rotate.`
        : kubeletSettingText(spec.setting);
    case 'file':
      return fileReads(spec);
    case 'component-setting':
      return `${spec.component}'s ${spec.settings.map(componentValueText).join('; and ')}.`;
    case 'control-plane-file': {
      const where = FILE_SET_DESCRIPTIONS[spec.fileSet];
      const what = spec.nameSuffix ? `the files whose name ends in ${spec.nameSuffix} among ${where}` : where;
      const raised = spec.raise ? ` A failing *${spec.raise.nameSuffix} file is ${spec.raise.severity} (${spec.raise.why}).` : '';
      const shared = spec.sharedWith
        ? ` When the kubelet's client CA is one of these files, its result there also carries ${spec.sharedWith.references.join(', ')} (${spec.sharedWith.check} asks the same of it and skips it).`
        : '';
      return `The ${spec.property} of ${what}. One result per file.${raised}${shared}`;
    }
    case 'custom':
      return spec.reads;
    default:
      return '';
  }
}

/** What a data check expects of the value it reads; null for a custom check (its results say). */
export function checkExpects(spec: CheckSpec): string | null {
  return 'test' in spec && spec.test ? describeTest(spec.test) : null;
}
