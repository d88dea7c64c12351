// `distil export-onnx`: a Hugging Face BERT / DistilBERT directory -> ONNX (src/infer/onnx_export.ts),
// written where transformers.js looks for it (`<dir>/onnx/model.onnx`, `model_quantized.onnx` for int8),
// and `distil convert` (the weights in another float dtype, src/io/convert.ts).
import { InvalidArgumentError, type Command } from 'commander';
import { convertModel, CONVERT_DTYPES, type ConvertDtype } from '../io/convert.js';
import { exportOnnx, ONNX_FILES, ONNX_PRECISIONS, ONNX_TASKS, type OnnxPrecision, type OnnxTask } from '../infer/onnx_export.js';

function taskArg(v: string): OnnxTask {
  if (!(ONNX_TASKS as readonly string[]).includes(v)) throw new InvalidArgumentError(`--task must be one of ${ONNX_TASKS.join(', ')}`);
  return v as OnnxTask;
}

function precisionArg(v: string): OnnxPrecision {
  if (!(ONNX_PRECISIONS as readonly string[]).includes(v)) throw new InvalidArgumentError(`--precision must be one of ${ONNX_PRECISIONS.join(', ')}`);
  return v as OnnxPrecision;
}

export function registerExport(program: Command): void {
  program
    .command('export-onnx')
    .description('export a BERT / DistilBERT model directory to ONNX (opset 14; fp32, int8 or bf16 weights) for onnxruntime and transformers.js')
    .requiredOption('--model <dir>', 'Hugging Face model directory (config.json + model.safetensors)')
    .option('--out <file>', 'ONNX file to write (default: <model>/onnx/ + the --precision file name)')
    .option('--task <task>', `head to export (${ONNX_TASKS.join(', ')}; default: from config.json architectures)`, taskArg)
    .option('--precision <p>',
      `weights: fp32 (${ONNX_FILES.fp32}, transformers.js dtype 'fp32'), int8 (dynamic quantization of the linear layers, `
      + `${ONNX_FILES.int8}, transformers.js dtype 'q8'), bf16 (bfloat16 weights, fp32 compute, ${ONNX_FILES.bf16}; onnxruntime only)`,
      precisionArg, 'fp32')
    .action((o: { model: string; out?: string; task?: OnnxTask; precision: OnnxPrecision }) => {
      const file = exportOnnx(o.model, { ...(o.out ? { outFile: o.out } : {}), ...(o.task ? { task: o.task } : {}), precision: o.precision });
      console.log(`wrote ${file}`);
    });

  program
    .command('convert')
    .description('rewrite a model directory with its weights in another float dtype (F16 halves the file; loading widens to fp32)')
    .requiredOption('--model <dir>', 'Hugging Face model directory (config.json + model.safetensors)')
    .requiredOption('--out <dir>', 'the converted directory (every other file is copied)')
    .option('--dtype <dtype>', `${CONVERT_DTYPES.join(', ')}`, (v: string) => {
      const d = v.toUpperCase();
      if (!(CONVERT_DTYPES as readonly string[]).includes(d)) throw new InvalidArgumentError(`--dtype must be one of ${CONVERT_DTYPES.join(', ')}`);
      return d as ConvertDtype;
    }, 'F16')
    .action((o: { model: string; out: string; dtype: ConvertDtype }) => {
      const r = convertModel(o.model, o.out, o.dtype);
      const mb = (b: number): string => (b / 2 ** 20).toFixed(1);
      console.log(`${r.tensors} tensors to ${o.dtype}: ${mb(r.bytesIn)} MiB -> ${mb(r.bytesOut)} MiB, ` +
        `largest rounding ${r.maxRelError.toExponential(2)} of a tensor's largest |value| -> ${o.out}`);
    });
}
