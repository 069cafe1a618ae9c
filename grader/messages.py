"""The grader's own sentences, in English and Chinese, by key, and rendering messages into a language.

Checks never write user-facing prose inline and never choose a language: they return messages
as data (`msg(key, **params)`, see grader/i18n.py), and reporters render them with
`render(text, lang)`, so that every sentence exists in both languages (a test holds every key to
that) and a scorecard can be shown in either. `tr(lang, key, **params)` renders at once, for
the reporters' own labels.
"""

from __future__ import annotations

import re
import string
from collections.abc import Sequence

from grader.i18n import Lang, Localized, Msg, msg
from grader.page_messages import PAGE_MESSAGES

MESSAGES: dict[str, dict[str, str]] = {
    # -- the run as a whole ------------------------------------------------------------------
    # {source}: "" or the line itself and a caret under the error, on lines of their own.
    "syntax_error": {
        "en": "Python cannot read the file: {msg} (line {line}).{source}",
        "zh": "Python 无法读取该文件：{msg}（第 {line} 行）。{source}",
    },
    "syntax_error_cell": {
        "en": "Python cannot read the notebook: {msg} (cell {cell}, line {line}).{source}",
        "zh": "Python 无法读取该笔记本：{msg}（第 {cell} 个单元格第 {line} 行）。{source}",
    },
    "curly_quotes_hint": {
        "en": "There are typographic quotes ({chars}) at {where}, probably pasted from a web page. Python needs straight quotes: ' and \".",
        "zh": "{where}含有排版引号（{chars}），可能是从网页复制来的。Python 只认直引号：' 和 \"。",
    },
    "where_line": {"en": "line {line}", "zh": "第 {line} 行"},
    "where_cell": {"en": "cell {cell}, line {line}", "zh": "第 {cell} 个单元格第 {line} 行"},
    "source_symlink": {"en": "it is a symbolic link; give the file itself", "zh": "它是一个符号链接；请提交文件本身"},
    "source_not_regular": {"en": "it is not a regular file", "zh": "它不是普通文件"},
    "source_too_big": {"en": "it is larger than {limit} MiB", "zh": "文件大于 {limit} MiB"},
    "source_os_error": {"en": "{reason}", "zh": "{reason}"},
    "source_not_notebook": {"en": "it is not a Jupyter notebook ({detail})", "zh": "它不是 Jupyter 笔记本（{detail}）"},
    "source_not_text": {
        "en": "it is not text in UTF-8, nor in the encoding a coding line names (byte {byte}: {reason}); save it as UTF-8",
        "zh": "它既不是 UTF-8 文本，也不是编码声明行所指定编码的文本（第 {byte} 个字节：{reason}）；请以 UTF-8 保存",
    },
    "source_bad_encoding": {"en": "its coding line cannot be used ({detail})", "zh": "它的编码声明行无法使用（{detail}）"},
    "source_too_long": {
        "en": "it holds {chars:,} characters of code, and the grader reads at most {limit:,}",
        "zh": "其中有 {chars:,} 个字符的代码，而评分器最多读取 {limit:,} 个",
    },
    "internal_error": {
        "en": "The grader itself failed while grading this submission: that is a bug in the grader, not your mistake.",
        "zh": "评分器在评这份提交时自身出错了：这是评分器的缺陷，不是你的错误。",
    },
    "internal_error_hint": {
        "en": "Grade it again; if it fails the same way, send your file and the output to your instructor.",
        "zh": "请再评一次；如果仍以同样的方式失败，请把你的文件和这段输出发给老师。",
    },
    # -- cluster
    # Grading on a Dask cluster (grader/cluster/): the workers grading one submission died {tries} times.
    "cluster_worker_lost": {
        "en": "The grading machines stopped {tries} {tries:time|times} while grading this submission, so it was not graded. The sandbox keeps your code from harming them, so this is a problem of the grading cluster, not a mistake in your code.",
        "zh": "评分机器在评这份提交时停止了 {tries} 次，因此它没有被评分。沙箱使你的代码无法损害评分机器，所以这是评分集群的问题，不是你代码中的错误。",
    },
    "cluster_worker_lost_hint": {
        "en": "Submit it again later; if it fails the same way, tell your instructor (the grader's log names the machines).",
        "zh": "请稍后再提交一次；如果仍以同样的方式失败，请告诉老师（评分器的日志记录了是哪些机器）。",
    },
    "not_text": {
        "en": "The submission cannot be read: {msg}.",
        "zh": "无法读取提交的文件：{msg}。",
    },
    "import_raised": {
        "en": "Importing the submission raised {type}: {msg}",
        "zh": "导入提交的代码时抛出 {type}：{msg}",
    },
    "import_timeout": {
        "en": "Importing the submission did not finish within {timeout:g} s.",
        "zh": "导入提交的代码未能在 {timeout:g} 秒内完成。",
    },
    "import_crashed": {
        "en": "The submission stopped while being imported ({how}).",
        "zh": "导入提交的代码时进程终止（{how}）。",
    },
    "not_imported": {
        "en": "Not graded: the submission could not be run (see above).",
        "zh": "未评分：提交的代码无法运行（见上文）。",
    },
    "the_result": {"en": "the result", "zh": "结果"},
    "the_value": {"en": "the value", "zh": "该值"},
    "item_of": {"en": "{name}[{i}]", "zh": "{name}[{i}]"},
    "module_not_found_hint": {
        "en": "The module '{module}' is not installed where the grader runs. The grader runs your file as a plain script, outside your notebook: install it, or use matplotlib and torch directly.",
        "zh": "评分环境中没有安装模块 '{module}'。评分器在笔记本之外把你的文件当作普通脚本运行：请安装它，或直接使用 matplotlib 和 torch。",
    },
    "top_level_raised": {
        "en": "At {where}, a top-level statement raised {type}: {msg} (the rest of the file still ran; only what depends on it loses points).",
        "zh": "{where}的顶层语句抛出 {type}：{msg}（文件其余部分仍然运行了；只有依赖它的部分会丢分）。",
    },
    "top_level_stopped": {
        "en": "At {where}, the file stopped ({type}: {msg}): the statements after it did not run.",
        "zh": "文件在{where}停止运行（{type}：{msg}）：其后的语句没有运行。",
    },
    "top_level_more": {
        "en": "{n} more top-level {n:statement|statements} raised.",
        "zh": "另有 {n} 条顶层语句抛出了异常。",
    },
    "stopped_before_definition": {
        "en": "The file stopped at {where} before it reached this definition; remove the sys.exit() (or what stopped it).",
        "zh": "文件在{where}停止运行，没有执行到这个定义；请去掉 sys.exit()（或其他使其停止的语句）。",
    },
    "exit_at_import_hint": {
        "en": "Do not call sys.exit() or exit() at module level: the grader imports your file and then calls your functions.",
        "zh": "不要在模块顶层调用 sys.exit() 或 exit()：评分器会导入你的文件，然后调用其中的函数。",
    },
    # -- calls --------------------------------------------------------------------------------
    # A call as code: its arguments are separated by commas in every language.
    "call": {"en": "{function}({args:, })", "zh": "{function}({args:, })"},
    "arg_tensor": {"en": "tensor{shape} {dtype}", "zh": "张量{shape} {dtype}"},
    "arg_scalar_tensor": {"en": "0-d tensor {dtype}", "zh": "0 维张量 {dtype}"},
    "arg_graph": {"en": "the graph of {expr}", "zh": "{expr} 的计算图"},
    "arg_function": {"en": "f(x) = {expr}", "zh": "f(x) = {expr}"},
    "missing_function": {
        "en": "The submission does not define {name}{signature}: {summary}",
        "zh": "提交的代码没有定义 {name}{signature}：{summary}",
    },
    "not_callable": {
        "en": "{name} is defined but is not a function.",
        "zh": "{name} 已定义，但不是函数。",
    },
    "call_raised": {
        "en": "{call} raised {type}: {msg}",
        "zh": "{call} 抛出 {type}：{msg}",
    },
    "call_raised_bare": {
        "en": "{call} raised {type}.",
        "zh": "{call} 抛出 {type}。",
    },
    "call_timeout": {
        "en": "{call} did not return within {timeout} and was stopped.",
        "zh": "{call} 未能在 {timeout} 内返回，已被终止。",
    },
    "call_crashed": {
        "en": "{call} ended the process ({how}).",
        "zh": "{call} 使进程终止（{how}）。",
    },
    "call_not_run": {
        "en": "{call} was not run: {why}.",
        "zh": "{call} 未被运行：{why}。",
    },
    "call_invalid": {
        "en": "{call} interfered with the grader's channel ({detail}).",
        "zh": "{call} 干扰了评分器的通信通道（{detail}）。",
    },
    "seconds": {"en": "{n:g} s", "zh": "{n:g} 秒"},
    "why_call_timeout": {"en": "the time limit of one call", "zh": "单次调用的时间限制"},
    "why_total_time": {"en": "the time limit of the whole submission", "zh": "整个提交的时间限制"},
    "why_exercise_time": {"en": "this exercise's share of the time limit", "zh": "本题分到的时间限制"},
    "why_earlier_timeout": {"en": "an earlier call of this function timed out", "zh": "该函数之前的一次调用超时了"},
    "why_earlier_crash": {"en": "an earlier call of this function crashed", "zh": "该函数之前的一次调用崩溃了"},
    "why_too_much_data": {"en": "the submission sent more data than the grader accepts", "zh": "提交的代码发送的数据超过了评分器接受的上限"},
    "why_not_reached": {"en": "it was never reached", "zh": "没有执行到它"},
    "ended_signal": {"en": "killed by {signal}", "zh": "被信号 {signal} 终止"},
    "ended_exit": {"en": "exit status {code}", "zh": "退出状态 {code}"},
    "ended_invalid": {"en": "it sent the grader something it does not accept: {detail}",
                      "zh": "它向评分器发送了不被接受的数据：{detail}"},
    "ended_unknown": {"en": "it ended without a report", "zh": "进程在报告前结束"},
    "ended_out_of_memory": {"en": "out of memory: the whole submission, every process together, used more than its limit",
                            "zh": "内存不足：整个提交（所有进程合计）使用的内存超过了上限"},
    "memory_hint": {
        "en": "Look for a tensor or list that grows far beyond the input's size, or for processes started in a loop.",
        "zh": "检查是否有张量或列表增长得远大于输入的规模，或者在循环中启动了进程。",
    },
    "timeout_hint": {
        "en": "Look for a loop whose condition never becomes false for these inputs.",
        "zh": "检查是否有循环的条件对这些输入永远不会变为假。",
    },
    "exit_in_call_hint": {
        "en": "Your function must return (or raise) normally; do not call sys.exit(), exit() or os._exit() inside it.",
        "zh": "函数应当正常返回（或抛出异常）；不要在其中调用 sys.exit()、exit() 或 os._exit()。",
    },
    "on_calls": {"en": "in {bad} of {total} {total:call|calls}", "zh": "（共 {total} 次调用中有 {bad} 次）"},
    # -- comparing values ---------------------------------------------------------------------
    "type_tensor": {"en": "a tensor of shape {shape} ({dtype})", "zh": "形状为 {shape} 的张量（{dtype}）"},
    "type_ndarray": {"en": "a numpy array ({dtype})", "zh": "numpy 数组（{dtype}）"},
    "type_object": {"en": "an object of class {cls}", "zh": "{cls} 类的对象"},
    "type_tuple": {"en": "a tuple of {n} {n:item|items}", "zh": "包含 {n} 个元素的元组"},
    "type_list": {"en": "a list of {n} {n:item|items}", "zh": "包含 {n} 个元素的列表"},
    "type_int": {"en": "an int", "zh": "int"},
    "type_float": {"en": "a float", "zh": "float"},
    "type_bool": {"en": "a bool", "zh": "bool"},
    "type_str": {"en": "a string", "zh": "str"},
    "type_none": {"en": "None", "zh": "None"},
    "at_index_x": {"en": "{index} (x={x:.6g})", "zh": "{index}（x={x:.6g}）"},
    # {table}: "" or `values_rows`, the results next to the expected ones (`show_values: true`).
    "matches": {
        "en": "{call} matches the reference on {n} {n:call|calls}.{table}",
        "zh": "{call} 在 {n} 次调用中都与参考答案一致。{table}",
    },
    "differs": {
        "en": "{call} differs from the reference {where}: {what}{table}",
        "zh": "{call} 与参考答案不一致{where}：{what}{table}",
    },
    "mismatch_type": {
        "en": "{name} is {got}, expected {expected}.",
        "zh": "{name} 是 {got}，应为 {expected}。",
    },
    "mismatch_length": {
        "en": "{name} has {got} {got:item|items}, expected {expected}.",
        "zh": "{name} 有 {got} 个元素，应为 {expected} 个。",
    },
    "mismatch_shape": {
        "en": "{name} has shape {got}, expected {expected}.",
        "zh": "{name} 的形状是 {got}，应为 {expected}。",
    },
    "mismatch_dtype": {
        "en": "{name} has dtype {got}, expected {expected}.",
        "zh": "{name} 的 dtype 是 {got}，应为 {expected}。",
    },
    "mismatch_values": {
        "en": "{name} differs at {bad} of {total} {total:entry|entries}; worst |diff| {diff:.2e} at {where} (got {got}, expected {expected}; rtol {rtol:g}, atol {atol:g}).",
        "zh": "{name} 在 {total} 个元素中有 {bad} 个不一致；最大绝对差 {diff:.2e}，位于 {where}（得到 {got}，应为 {expected}；rtol {rtol:g}，atol {atol:g}）。",
    },
    "mismatch_nonfinite": {
        "en": "{name} contains NaN or infinity at {bad} of {total} {total:entry|entries} (first at {where}).",
        "zh": "{name} 在 {total} 个元素中有 {bad} 个为 NaN 或无穷（第一个位于 {where}）。",
    },
    "mismatch_scalar": {
        "en": "{name} is {got!r}, expected {expected!r}.",
        "zh": "{name} 的值是 {got!r}，应为 {expected!r}。",
    },
    "too_large": {"en": "{name} was too large to check ({what}).", "zh": "{name} 太大，无法检查（{what}）。"},
    "numpy_not_tensor_hint": {
        "en": "Return a torch tensor, not a numpy array: keep the result of autograd as it is.",
        "zh": "请返回 torch 张量而不是 numpy 数组：直接返回自动微分得到的结果即可。",
    },
    "int_expected_hint": {
        "en": "Return a plain Python int (for a 0-d tensor t, t.item() gives one).",
        "zh": "请返回 Python 的 int（对 0 维张量 t，可用 t.item() 得到）。",
    },
    "dtype_hint": {
        "en": "Keep the dtype of the input: the grader passes float64 tensors and expects float64 results.",
        "zh": "请保持输入的 dtype：评分器传入 float64 张量，也期望得到 float64 结果。",
    },
    "accumulated_hint": {
        "en": "The second call on the same input returned {ratio:g} times the first: gradients accumulate in .grad. Zero it (x.grad.zero_()) or make a fresh leaf (x.detach().requires_grad_()) on each call.",
        "zh": "对同一输入的第二次调用返回了第一次结果的 {ratio:g} 倍：梯度会在 .grad 中累积。请在每次调用时清零（x.grad.zero_()），或重新创建叶子张量（x.detach().requires_grad_()）。",
    },
    "values_table": {"en": "{label}: got {got}, expected {expected}", "zh": "{label}：得到 {got}，应为 {expected}"},
    "values_rows": {"en": "\n{rows:\n}", "zh": "\n{rows:\n}"},
    # -- raises -------------------------------------------------------------------------------
    "raises_ok": {
        "en": "{call} raised {type} as expected: {msg}",
        "zh": "{call} 按预期抛出了 {type}：{msg}",
    },
    "raises_returned": {
        "en": "{call} returned normally; it should let {type} propagate.",
        "zh": "{call} 正常返回了；它应当让 {type} 向外抛出。",
    },
    "raises_wrong_type": {
        "en": "{call} raised {got}: {msg}; expected {type}.",
        "zh": "{call} 抛出的是 {got}：{msg}；应为 {type}。",
    },
    "raises_wrong_message": {
        "en": "{call} raised {type}, but its message does not match /{pattern}/: {msg}",
        "zh": "{call} 抛出了 {type}，但错误信息与 /{pattern}/ 不符：{msg}",
    },
    "raises_not_autograd": {
        "en": "{call} raised {type} from torch, but not from an autograd run: the error must come out of backward() or torch.autograd.grad.",
        "zh": "{call} 由 torch 抛出了 {type}，但不是在自动微分运行中：该错误应当来自 backward() 或 torch.autograd.grad。",
    },
    "raises_not_autograd_hint": {
        "en": "Make autograd itself fail: call backward() (or torch.autograd.grad) the way the exercise describes and let its error propagate.",
        "zh": "让自动微分自己出错：按题目所说调用 backward()（或 torch.autograd.grad），并让它的错误向外抛出。",
    },
    "raises_own_raise": {
        "en": "{call} raised {type} itself ({where}); the error must come from torch.",
        "zh": "{call} 自己抛出了 {type}（{where}）；该错误应当由 torch 产生。",
    },
    # -- forbidden names and operations -------------------------------------------------------
    "forbid_source_ok": {
        "en": "The source does not use {names}.",
        "zh": "源代码中没有使用 {names}。",
    },
    "forbid_source_found": {
        "en": "The source uses {name} at {where}{more}.",
        "zh": "源代码在{where}使用了 {name}{more}。",
    },
    "more_places": {"en": " (and {n} more {n:place|places})", "zh": "（另有 {n} 处）"},
    "forbid_ops_ok": {
        "en": "{functions} did not call {names}.",
        "zh": "{functions} 没有调用 {names}。",
    },
    "forbid_ops_found": {
        "en": "{functions} called {found} while running.",
        "zh": "{functions} 在运行时调用了 {found}。",
    },
    "no_observation": {
        "en": "No call of {functions} finished, so nothing could be observed.",
        "zh": "{functions} 的调用都没有完成，因此无法观察。",
    },
    # -- autograd -----------------------------------------------------------------------------
    "autograd_used": {
        "en": "{functions} computed with autograd in every call.",
        "zh": "{functions} 在每次调用中都使用了自动微分。",
    },
    "autograd_missing": {
        "en": "{functions} did not run autograd (backward, torch.autograd.grad or torch.func) {where}.",
        "zh": "{functions} 没有运行自动微分{where}，即没有用 backward、torch.autograd.grad 或 torch.func 求导。",
    },
    "autograd_too_few": {
        "en": "{functions} ran autograd {got} {got:time|times} in a call; at least {need} are needed {where}.",
        "zh": "{functions} 在一次调用中只运行了 {got} 次自动微分，而每次调用至少需要 {need} 次{where}。",
    },
    "autograd_no_create_graph": {
        "en": "{functions} never differentiated with create_graph=True {where}, so there was no graph of the first derivative to differentiate again.",
        "zh": "{functions} 没有使用 create_graph=True 求导{where}，因此没有一阶导数的计算图可以再次求导。",
    },
    "autograd_create_graph_ok": {
        "en": "{functions} differentiated through the first derivative (create_graph=True) in every call.",
        "zh": "{functions} 在每次调用中都对一阶导数再次求导（create_graph=True）。",
    },
    "autograd_forbidden_ok": {
        "en": "{functions} did not use autograd.",
        "zh": "{functions} 没有使用自动微分。",
    },
    "autograd_forbidden_used": {
        "en": "{functions} ran autograd {where}; it must be worked out by hand.",
        "zh": "{functions} 运行了自动微分 {where}；它应当由手工推导得出。",
    },
    "finite_difference_hint": {
        "en": "The exercise asks for autograd: make x require grad (x = x.detach().requires_grad_()), compute y, call y.sum().backward() or torch.autograd.grad, and read the gradient. Finite differences trade truncation error against rounding error and never reach autograd's precision.",
        "zh": "本题要求使用自动微分：让 x 需要梯度（x = x.detach().requires_grad_()），计算 y，调用 y.sum().backward() 或 torch.autograd.grad，然后读取梯度。有限差分要在截断误差和舍入误差之间取舍，达不到自动微分的精度。",
    },
    "create_graph_hint": {
        "en": "Take the first derivative with torch.autograd.grad(y.sum(), x, create_graph=True), then differentiate that result again.",
        "zh": "先用 torch.autograd.grad(y.sum(), x, create_graph=True) 求一阶导数，再对结果求一次导。",
    },
    "loop_tip": {
        "en": "Correct. A call ran autograd {n} times: one y.sum().backward() gives the same gradient in one pass, since d(sum)/dy_i = 1.",
        "zh": "结果正确。某次调用运行了 {n} 次自动微分：一次 y.sum().backward() 就能得到同样的梯度，因为 d(sum)/dy_i = 1。",
    },
    # -- control flow -------------------------------------------------------------------------
    "paths_ok": {
        "en": "{function} took {paths} different {paths:path|paths} through its control flow over {n} {n:input|inputs}.",
        "zh": "在 {n} 个输入上，{function} 的控制流走了 {paths} 条不同的路径。",
    },
    "paths_too_few": {
        "en": "{function} took {paths} {paths:path|paths} through its control flow over {n} {n:input|inputs}; at least {need} are needed.{unreached}",
        "zh": "在 {n} 个输入上，{function} 的控制流只走了 {paths} 条路径；至少需要 {need} 条。{unreached}",
    },
    "unreached_lines": {"en": " Lines never reached: {lines}.", "zh": " 从未执行到的行：{lines}。"},
    # A notebook's places have commas of their own ("cell 2, line 3"), so they are set apart by semicolons.
    "unreached_cells": {"en": " Lines never reached: {lines:; }.", "zh": " 从未执行到的行：{lines:；}。"},
    "paths_same_computation": {
        "en": "{function} took {paths} paths over {n} calls, but they all compute the same thing (the same autograd graph): a branch that does not change the result is not control flow that matters.",
        "zh": "{function} 在 {n} 次调用中走过 {paths} 条路径，但它们计算的是同一个东西（自动微分计算图相同）：不改变结果的分支不算真正起作用的控制流。",
    },
    "same_computation_hint": {
        "en": "Let the branches compute different things (x ** 2 on one side, 3 * x on the other, say), so that the derivative depends on the path taken.",
        "zh": "让各个分支计算不同的东西（例如一边是 x ** 2，另一边是 3 * x），使导数取决于所走的路径。",
    },
    "no_branching": {
        "en": "{function} (and the functions of your file it calls) has no if, while or for statement, so its control flow cannot depend on x.",
        "zh": "{function}（以及它调用的你文件中的函数）中没有 if、while 或 for 语句，其控制流不可能依赖 x。",
    },
    "paths_hint": {
        "en": "Only one path through the control flow was exercised. Choose a condition that the inputs actually cross (or set G_DOMAIN so that they do), and compare both branches' gradients.",
        "zh": "只有一条控制流路径被执行到。请选择输入确实会跨越的条件（或设置 G_DOMAIN 使其跨越），并比较两个分支的梯度。",
    },
    "domain_used": {"en": "Inputs drawn from {name} = ({low:g}, {high:g}).", "zh": "输入取自 {name} = ({low:g}, {high:g})。"},
    "domain_ignored": {
        "en": "{name} was ignored ({why}); inputs drawn from ({low:g}, {high:g}).",
        "zh": "{name} 被忽略（{why}）；输入取自 ({low:g}, {high:g})。",
    },
    "domain_not_pair": {"en": "it must be a tuple of two numbers", "zh": "它必须是由两个数组成的元组"},
    "domain_not_numbers": {"en": "both ends must be finite numbers", "zh": "两端必须是有限的数"},
    "domain_not_ordered": {"en": "low must be smaller than high", "zh": "low 必须小于 high"},
    "domain_too_wide": {"en": "it reaches beyond ±1e6", "zh": "其范围超出了 ±1e6"},
    # -- gradient consistency -----------------------------------------------------------------
    "consistent": {
        "en": "{hand} agrees with autograd's gradient of {function} at all {n} points.",
        "zh": "{hand} 在全部 {n} 个点上都与 {function} 的自动微分梯度一致。",
    },
    "inconsistent": {
        "en": "{hand} differs from autograd's gradient of {function} at {bad} of {n} {n:point|points}, e.g. x={x:.6g}: {hand} gives {got:.10g}, autograd {expected:.10g}.",
        "zh": "{hand} 在 {n} 个点中有 {bad} 个与 {function} 的自动微分梯度不一致，例如 x={x:.6g}：{hand} 给出 {got:.10g}，自动微分为 {expected:.10g}。",
    },
    "inconsistent_hint": {
        "en": "Work out the derivative of each branch separately; the points where they disagree show which branch is off.",
        "zh": "请分别推导每个分支的导数；不一致的点会告诉你哪个分支有误。",
    },
    "grad_not_tensor": {
        "en": "{function} returned {got}, not a tensor, so autograd cannot differentiate it.",
        "zh": "{function} 返回的是 {got} 而不是张量，自动微分无法对其求导。",
    },
    "grad_no_graph": {
        "en": "{function}'s result does not depend on x through torch operations (it does not require grad): build it from differentiable torch ops, without .item(), float() or .detach().",
        "zh": "{function} 的结果没有通过 torch 运算依赖于 x（它不需要梯度）：请使用可微的 torch 运算构造它，不要用 .item()、float() 或 .detach()。",
    },
    "grad_failed": {
        "en": "Autograd could not differentiate {function}: {msg}",
        "zh": "自动微分无法对 {function} 求导：{msg}",
    },
    "not_a_number": {
        "en": "{function} returned {got}; expected a number or a 0-d tensor.",
        "zh": "{function} 返回的是 {got}；应为数值或 0 维张量。",
    },
    # -- instructors, second round -------------------------------------------------------------
    # Routes and modes of autograd, as the child records them; {routes} is a list of `route_in_mode`.
    "route_in_mode": {"en": "{route} ({mode})", "zh": "{route}（{mode}）"},
    "route_backward": {"en": "backward()", "zh": "backward()"},
    "route_grad": {"en": "torch.autograd.grad", "zh": "torch.autograd.grad"},
    "route_func": {"en": "torch.func", "zh": "torch.func"},
    "route_functional": {"en": "torch.autograd.functional", "zh": "torch.autograd.functional"},
    "route_jvp": {"en": "torch.func.jvp", "zh": "torch.func.jvp"},
    "route_unpack_dual": {"en": "torch.autograd.forward_ad", "zh": "torch.autograd.forward_ad"},
    "route_jacfwd": {"en": "torch.func.jacfwd", "zh": "torch.func.jacfwd"},
    "mode_reverse": {"en": "reverse mode", "zh": "反向模式"},
    "mode_forward": {"en": "forward mode", "zh": "前向模式"},
    "autograd_used_routes": {
        "en": "{functions} computed with autograd in every call, through {routes}.",
        "zh": "{functions} 在每次调用中都使用了自动微分，途径：{routes}。",
    },
    "autograd_create_graph_ok_routes": {
        "en": "{functions} differentiated through the first derivative (create_graph=True) in every call, through {routes}.",
        "zh": "{functions} 在每次调用中都对一阶导数再次求导（create_graph=True），途径：{routes}。",
    },
    "autograd_forbidden_used_routes": {
        "en": "{functions} ran autograd {where}, through {routes}; it must be worked out by hand.",
        "zh": "{functions} 运行了自动微分 {where}，途径：{routes}；它应当由手工推导得出。",
    },
    "autograd_forbidden_mode_used": {
        "en": "{functions} ran autograd in {mode} {where}, through {routes}; this exercise asks for it without {mode}.",
        "zh": "{functions} 以{mode}运行了自动微分 {where}，途径：{routes}；本题要求不使用{mode}。",
    },
    "call_input_failed": {
        "en": "{call} was not made: building its inputs from the exercise's spec raised {type}: {msg}. This is a mistake in the exercise, not in your code; please tell your instructor.",
        "zh": "{call} 没有被调用：按题目规格构造它的输入时抛出了 {type}：{msg}。这是题目本身的错误，不是你的代码的问题；请告诉你的老师。",
    },
    "autograd_forbidden_mode_ok": {
        "en": "{functions} did not run autograd in {mode}.",
        "zh": "{functions} 没有以{mode}运行自动微分。",
    },
    "autograd_wrong_mode": {
        "en": "{functions} did not run autograd in {mode} {where}: what ran was {routes}. This exercise asks for {mode}.",
        "zh": "{functions} 没有以{mode}运行自动微分 {where}：实际运行的是 {routes}。本题要求使用{mode}。",
    },
    "autograd_missing_forward": {
        "en": "{functions} did not run forward-mode autograd (torch.func.jvp, torch.func.jacfwd or torch.autograd.forward_ad) {where}.",
        "zh": "{functions} 没有运行前向模式自动微分{where}，即没有用 torch.func.jvp、torch.func.jacfwd 或 torch.autograd.forward_ad 求导。",
    },
    "forward_mode_hint": {
        "en": "The exercise asks for forward mode: push a tangent v through the function with torch.func.jvp(f, (x,), (v,)), or with torch.autograd.forward_ad (make_dual inside `with dual_level():`, then unpack_dual(...).tangent). backward() and torch.autograd.grad are reverse mode.",
        "zh": "本题要求使用前向模式：用 torch.func.jvp(f, (x,), (v,)) 把切向量 v 推过函数，或使用 torch.autograd.forward_ad（在 `with dual_level():` 中 make_dual，再取 unpack_dual(...).tangent）。backward() 和 torch.autograd.grad 属于反向模式。",
    },
    "reverse_mode_hint": {
        "en": "The exercise asks for reverse mode: call backward() on a scalar, or torch.autograd.grad(y, x, grad_outputs=v). torch.func.jvp, jacfwd and forward_ad are forward mode.",
        "zh": "本题要求使用反向模式：对标量调用 backward()，或使用 torch.autograd.grad(y, x, grad_outputs=v)。torch.func.jvp、jacfwd 和 forward_ad 属于前向模式。",
    },
    "loop_tip_grad": {
        "en": "Correct. A call ran autograd {n} times: one torch.autograd.grad(y, x, grad_outputs=v) gives the vector-Jacobian product vᵀJ in one pass (v = torch.ones_like(y) for the gradient of y.sum()).",
        "zh": "结果正确。某次调用运行了 {n} 次自动微分：一次 torch.autograd.grad(y, x, grad_outputs=v) 就能得到向量-雅可比积 vᵀJ（v = torch.ones_like(y) 时即 y.sum() 的梯度）。",
    },
    "loop_tip_forward": {
        "en": "Correct. A call ran forward-mode autograd {n} times: one torch.func.jvp(f, (x,), (v,)) gives the Jacobian-vector product Jv in one pass.",
        "zh": "结果正确。某次调用运行了 {n} 次前向模式自动微分：一次 torch.func.jvp(f, (x,), (v,)) 就能得到雅可比-向量积 Jv。",
    },
    # Absence checks (forbid_*, `not_used`) earn points only alongside an answer.
    "absence_no_answer": {
        "en": "No call of {functions} returned an answer (each returned None and drew nothing), so there is nothing yet for this check to credit.",
        "zh": "{functions} 的调用都没有给出答案（都返回 None，也没有画图），因此这项检查还没有可以计分的内容。",
    },
    # gradient_consistency of any shape, and its cross-check against the function's own values.
    "inconsistent_entries": {
        "en": "{hand} differs from autograd's gradient of {function} at {bad} of {n} points, e.g. at {where} in call {call}: {hand} gives {got:.10g}, autograd {expected:.10g}.",
        "zh": "{hand} 在 {n} 个点中有 {bad} 个与 {function} 的自动微分梯度不一致，例如第 {call} 次调用的 {where}：{hand} 给出 {got:.10g}，自动微分为 {expected:.10g}。",
    },
    "inconsistent_hint_smooth": {
        "en": "Check the derivative term by term (chain rule, product rule); the points where the two disagree show where it goes wrong.",
        "zh": "请逐项检查导数（链式法则、乘积法则）；两者不一致的点会告诉你哪里出了错。",
    },
    "grad_hand_not_array": {
        "en": "{function} returned {got}; expected a number or a tensor shaped like x ({shape}).",
        "zh": "{function} 返回的是 {got}；应为数值或与 x 形状相同（{shape}）的张量。",
    },
    "grad_hand_shape": {
        "en": "{function} returned a result of shape {got}; expected x's shape {shape} (the gradient of {g}(x).sum()) or the whole Jacobian, {jacobian}.",
        "zh": "{function} 返回结果的形状是 {got}；应为 x 的形状 {shape}（即 {g}(x).sum() 的梯度），或整个雅可比矩阵的形状 {jacobian}。",
    },
    "consistent_fd": {
        "en": "{hand} agrees with autograd's gradient of {function} at all {n} points, and that gradient follows {function}'s own values at the {checked} of them away from a branch or kink.",
        "zh": "{hand} 在全部 {n} 个点上都与 {function} 的自动微分梯度一致，并且在其中远离分支或折点的 {checked} 个点上，该梯度与 {function} 自身的取值相符。",
    },
    "fd_disagrees": {
        "en": "Autograd's gradient of {function} does not follow {function}'s own values {where}: stepping x by {h:.1e} changes {function} at the rate {fd:.6g}, while autograd says {ad:.6g}. What {function} returns is not what its graph differentiates (a detach() or straight-through trick?), so it cannot vouch for {hand}.",
        "zh": "{function} 的自动微分梯度与 {function} 自身的取值不符（{where}）：x 移动 {h:.1e} 时 {function} 的变化率为 {fd:.6g}，而自动微分给出 {ad:.6g}。{function} 返回的值并不是其计算图所求导的值（用了 detach() 或直通技巧？），因此它不能为 {hand} 作证。",
    },
    "fd_at_x": {"en": "at x={x:.6g}", "zh": "在 x={x:.6g} 处"},
    "fd_at_call": {"en": "at the input of call {call}", "zh": "在第 {call} 次调用的输入处"},
    "fd_hint": {
        "en": "Compute g from x with differentiable torch operations only, so that autograd differentiates what g returns; do not mix detached values into it.",
        "zh": "请只用可微的 torch 运算由 x 计算 g，使自动微分求导的正是 g 返回的值；不要在其中混入 detach 过的值。",
    },
    # Starter files of an exercise directory given with --exercises: the next step names it too.
    "starter_header_exercises": {
        "en": "Starter file: write each function below (each raises NotImplementedError until you do), then run `grade --exercises {directory} {file}`.",
        "zh": "起始文件：请逐个完成下面的函数（完成之前它们都会抛出 NotImplementedError），然后运行 `grade --exercises {directory} {file}`。",
    },
    "starter_written_exercises": {
        "en": "Wrote {path}: {functions} functions of {exercises} exercises to fill in. Then run: grade --exercises {directory} {path}",
        "zh": "已写入 {path}：共 {exercises} 道练习的 {functions} 个函数待完成。完成后运行：grade --exercises {directory} {path}",
    },
    # -- plots --------------------------------------------------------------------------------
    "plot_ok": {
        "en": "The figure shows {curves}, told apart by {how}.",
        "zh": "图中画出了 {curves}，并通过{how}加以区分。",
    },
    "plot_no_figure": {
        "en": "{function} drew no figure.",
        "zh": "{function} 没有画出任何图。",
    },
    "plot_missing_curves": {
        "en": "No curve in the figure follows {missing} at its own x coordinates ({n} {n:curve|curves} found{found}).",
        "zh": "图中没有任何曲线在其自身的 x 坐标上与 {missing} 吻合（共找到 {n} 条曲线{found}）。",
    },
    "plot_found_curves": {"en": "; {found} matched", "zh": "；其中 {found} 吻合"},
    "plot_no_legend": {
        "en": "The figure shows {curves}, but nothing tells them apart: add labels and a legend (plt.legend()) or give each its own titled axes.",
        "zh": "图中画出了 {curves}，但没有任何方式区分它们：请添加标签和图例（plt.legend()），或为每条曲线使用带标题的单独坐标轴。",
    },
    "plot_by_legend": {"en": "a legend", "zh": "图例"},
    "plot_by_titles": {"en": "axes titles", "zh": "坐标轴标题"},
    "plot_curves_hint": {
        "en": "Plot sin(x) and the derivative autograd computed, each against x: plt.plot(x, y.detach(), label='sin(x)'); plt.plot(x, x.grad, label=\"sin'(x)\"); plt.legend().",
        "zh": "请分别以 x 为横轴画出 sin(x) 和自动微分求得的导数：plt.plot(x, y.detach(), label='sin(x)')；plt.plot(x, x.grad, label=\"sin'(x)\")；plt.legend()。",
    },
    "figure_shrunk": {
        "en": "Your figure asked for {w:g}×{h:g} inches ({px} pixels): figsize is in inches, not pixels. The grader shrank it to {sw:g}×{sh:g}; something like figsize=(8, 4) is what you meant.",
        "zh": "你的图设置为 {w:g}×{h:g} 英寸（{px} 像素）：figsize 的单位是英寸而不是像素。评分器已将其缩小为 {sw:g}×{sh:g}；你想要的大概是 figsize=(8, 4)。",
    },
    "figure_png": {"en": "figure drawn by {function}", "zh": "{function} 画出的图"},
    # -- short answers ------------------------------------------------------------------------
    "answer_collected": {
        "en": "Your explanation ({words} {words:word|words}) is kept for your instructor; it earns no automatic points.",
        "zh": "你的解释（{words} 个词）已保存供老师查看；它不计自动分数。",
    },
    "answer_missing": {
        "en": "No explanation found: define {name} = \"...\" at module level to send one to your instructor.",
        "zh": "没有找到解释：在模块顶层定义 {name} = \"...\" 即可提交给老师。",
    },
    "answer_not_text": {
        "en": "{name} should be a string; it is {got}.",
        "zh": "{name} 应当是字符串；实际是 {got}。",
    },
    # -- reports ------------------------------------------------------------------------------
    "hidden_output_header": {
        "en": "printed during hidden checks",
        "zh": "隐藏检查期间的输出",
    },
    "hidden_output_withheld": {
        "en": "{n:,} {n:byte|bytes} printed during hidden checks {n:is|are} not shown.",
        "zh": "隐藏检查期间输出的 {n:,} 字节未显示。",
    },
    "isolation_network_namespace": {"en": "network not isolated", "zh": "网络未隔离"},
    "isolation_pid_namespace": {
        "en": "no PID namespace (leftover processes are killed one by one)",
        "zh": "没有 PID 命名空间（残留进程逐个终止）",
    },
    "isolation_mount_namespace": {
        "en": "shared /tmp and file system view (no mount namespace)",
        "zh": "共享 /tmp 和文件系统视图（没有挂载命名空间）",
    },
    "isolation_read_only": {
        "en": "the submission may write wherever the grader's user may",
        "zh": "提交的代码可以写入评分用户能写的任何位置",
    },
    "isolation_rlimits": {"en": "no resource limits", "zh": "没有资源限制"},
    # -- how lists read -----------------------------------------------------------------------
    "list_separator": {"en": ", ", "zh": "、"},
    # -- words of the text report --
    "report_points": {"en": 'points', "zh": '分'},
    "report_hint": {"en": 'hint', "zh": '提示'},
    "report_tip": {"en": 'tip', "zh": '建议'},
    "report_printed": {"en": 'Your program printed', "zh": '你的程序输出'},
    "report_seed": {"en": 'seed', "zh": '随机种子'},
    "report_isolation": {"en": 'isolation', "zh": '隔离'},
    "report_weaker": {"en": 'Isolation was weaker than full', "zh": '隔离程度低于完整隔离'},
    "report_file": {"en": 'file', "zh": '文件'},
    "report_answers": {"en": 'Answers for your instructor', "zh": '提交给老师的回答'},
    "report_ungraded": {"en": 'not graded', "zh": '不计分'},
    "report_reproduce": {"en": 'reproduce with --seed', "zh": '用 --seed 复现'},
    "report_traceback": {"en": 'Traceback (your code only, most recent call last):', "zh": '回溯（只显示你的代码，最近的调用在最后）：'},
    "report_frame": {"en": 'File "{file}", line {line}, in {function}', "zh": '文件 "{file}"，第 {line} 行，在 {function} 中'},
    "report_frame_cell": {"en": 'File "{file}", cell {cell}, line {line}, in {function}', "zh": '文件 "{file}"，第 {cell} 个单元格第 {line} 行，在 {function} 中'},
    "report_repeated": {"en": '[Previous line repeated {n} more times]', "zh": '[上一行又重复了 {n} 次]'},
    "report_colon": {"en": ': ', "zh": '：'},
    "hidden_check": {"en": "Hidden check: details are shown after grading is published.", "zh": "隐藏检查：评分公布后才会显示详情。"},
    "requires_grad_numpy_hint": {
        "en": "A tensor that requires grad cannot become a numpy array: use t.detach().numpy(), or pass t.detach() to matplotlib.",
        "zh": "需要梯度的张量不能直接转换为 numpy 数组：请使用 t.detach().numpy()，或把 t.detach() 传给 matplotlib。",
    },
    "nonscalar_backward_hint": {
        "en": "backward() without arguments needs a scalar. Reduce first (y.sum().backward()) or pass gradient=torch.ones_like(y); summing does not change each element's gradient, since d(sum)/dy_i = 1.",
        "zh": "不带参数的 backward() 要求输出是标量。请先求和（y.sum().backward()），或传入 gradient=torch.ones_like(y)；求和不会改变每个元素的梯度，因为 d(sum)/dy_i = 1。",
    },
    "backward_twice_hint": {
        "en": "The first backward() frees the graph's saved tensors. Pass retain_graph=True to the first call, or recompute y before the second.",
        "zh": "第一次 backward() 会释放计算图中保存的张量。请在第一次调用时传入 retain_graph=True，或在第二次调用前重新计算 y。",
    },
    "no_grad_hint": {
        "en": "The tensor you differentiate does not require grad: make the input a leaf that does (x = x.detach().requires_grad_()) before computing y.",
        "zh": "要求导的张量不需要梯度：在计算 y 之前，把输入变成需要梯度的叶子张量（x = x.detach().requires_grad_()）。",
    },
    "grad_none_hint": {
        "en": "x.grad is None: backward() did not reach x. Make x a leaf that requires grad and compute y from that same x.",
        "zh": "x.grad 是 None：backward() 没有传播到 x。请让 x 成为需要梯度的叶子张量，并用同一个 x 计算 y。",
    },
    # -- more hints recognised from exceptions and unreadable lines ----------------------------
    "stub_hint": {
        "en": "This function is still a stub: replace its `raise NotImplementedError` with your code.",
        "zh": "这个函数还只是占位代码：请把其中的 `raise NotImplementedError` 换成你自己的代码。",
    },
    "missing_import_hint": {
        "en": "'{name}' is used before it is imported: put `{statement}` at the top of your file (the grader runs your file alone, without a notebook's earlier cells).",
        "zh": "'{name}' 在导入之前就被使用了：请在文件开头写上 `{statement}`（评分器单独运行你的文件，不会执行笔记本中之前的单元格）。",
    },
    "inplace_leaf_hint": {
        "en": "A leaf that requires grad cannot be changed in place (x += 1, x.add_(1), x[0] = 0). Compute a new tensor instead (x = x + 1), or change it inside `with torch.no_grad():`.",
        "zh": "需要梯度的叶子张量不能被原地修改（x += 1、x.add_(1)、x[0] = 0）。请计算一个新张量（x = x + 1），或在 `with torch.no_grad():` 中修改它。",
    },
    "unused_input_hint": {
        "en": "The tensor you differentiate with respect to is not the one y was computed from: compute y from that very tensor (a copy made after computing y is a different tensor).",
        "zh": "你求导所针对的张量并不是计算 y 时用到的那个：请用同一个张量计算 y（在计算 y 之后再复制得到的是另一个张量）。",
    },
    "integer_requires_grad_hint": {
        "en": "Only floating tensors can require grad: keep the input's dtype (the grader passes float64), or write torch.arange(4.0) rather than torch.arange(4).",
        "zh": "只有浮点张量才能需要梯度：请保持输入的 dtype（评分器传入 float64），或写 torch.arange(4.0) 而不是 torch.arange(4)。",
    },
    "ambiguous_condition_hint": {
        "en": "An if or while on a tensor with several elements needs one truth value: reduce the condition first, e.g. `if a.sum() > 0:` or `while a.norm() < 1000:` (or .all() / .any()).",
        "zh": "对多元素张量使用 if 或 while 时，条件必须是单个真值：请先归约，例如 `if a.sum() > 0:` 或 `while a.norm() < 1000:`（或用 .all() / .any()）。",
    },
    "mixed_dtype_hint": {
        "en": "Two tensors of different dtypes met (float32 and float64). The grader passes float64: make new tensors with the input's dtype (torch.ones_like(x), torch.tensor(..., dtype=x.dtype)).",
        "zh": "两个 dtype 不同的张量（float32 和 float64）参与了同一运算。评分器传入 float64：新建张量时请使用输入的 dtype（torch.ones_like(x)、torch.tensor(..., dtype=x.dtype)）。",
    },
    "grad_fn_none_hint": {
        "en": "A node was None: a leaf has grad_fn None, and next_functions contains (None, 0) pairs for inputs that need no gradient. Return 0 for t.grad_fn is None and skip None entries.",
        "zh": "某个节点是 None：叶子张量的 grad_fn 为 None，而 next_functions 中不需要梯度的输入对应 (None, 0)。t.grad_fn 为 None 时返回 0，并跳过 None 项。",
    },
    "zero_before_backward_hint": {
        "en": "x.grad is None until a backward() reaches x: zero it between the two backward() calls, not before the first.",
        "zh": "在 backward() 传播到 x 之前，x.grad 是 None：请在两次 backward() 之间清零，而不是在第一次之前。",
    },
    "recursion_hint": {
        "en": "A function calls itself without end: make sure a base case is reached for these inputs.",
        "zh": "某个函数无休止地调用自身：请确保对这些输入能到达递归的终止条件。",
    },
    "full_width_hint": {
        "en": "There is full-width punctuation ({chars}) at {where}, typed with a Chinese input method. Python needs the ASCII forms: ( ) [ ] , : ; = and straight quotes.",
        "zh": "{where}含有全角标点（{chars}），是用中文输入法输入的。Python 需要半角（ASCII）符号：( ) [ ] , : ; = 和直引号。",
    },
    "invisible_space_hint": {
        "en": "There is a space that is not a plain space at {where} (a non-breaking or full-width space, often pasted from a web page): retype the spaces on that line.",
        "zh": "{where}含有不是普通空格的空白字符（不换行空格或全角空格，常见于从网页复制的代码）：请重新输入该行的空格。",
    },
    "tabs_hint": {
        "en": "The indentation at {where} mixes tabs and spaces: indent with spaces only (4 per level).",
        "zh": "{where}的缩进混用了制表符和空格：请只用空格缩进（每级 4 个）。",
    },
    # -- plot overlays ------------------------------------------------------------------------
    "overlay_png": {"en": "your curves over the expected ones", "zh": "你的曲线与期望曲线的叠加图"},
    "overlay_title": {"en": "Your curves (solid, in colour) over the expected ones (black, dashed)", "zh": "你的曲线（彩色实线）与期望曲线（黑色虚线）"},
    "overlay_expected": {"en": "expected: {name}", "zh": "期望：{name}"},
    "overlay_yours": {"en": "yours: {label}", "zh": "你的：{label}"},
    "overlay_unlabelled": {"en": "curve {n}", "zh": "曲线 {n}"},
    # -- starter files ------------------------------------------------------------------------
    "starter_header": {
        "en": "Starter file: write each function below (each raises NotImplementedError until you do), then run `grade {file}`.",
        "zh": "起始文件：请逐个完成下面的函数（完成之前它们都会抛出 NotImplementedError），然后运行 `grade {file}`。",
    },
    "starter_optional": {"en": "Remove the # to set it: {summary}", "zh": "去掉 # 即可设置：{summary}"},
    "starter_written": {
        "en": "Wrote {path}: {functions} {functions:function|functions} of {exercises} {exercises:exercise|exercises} to fill in. Then run: grade {path}",
        "zh": "已写入 {path}：共 {exercises} 道练习的 {functions} 个函数待完成。完成后运行：grade {path}",
    },
    # -- course CI reports (Markdown, Gradescope, GitHub, JUnit) --------------------------------
    "ci_report_title": {"en": "Autograding: {submission}", "zh": "自动评分：{submission}"},
    "ci_batch_title": {"en": "Autograding: {count} {count:submission|submissions}", "zh": "自动评分：{count} 份提交"},
    "ci_submission": {"en": "Submission", "zh": "提交"},
    "ci_exercise": {"en": "Exercise", "zh": "练习"},
    "ci_points": {"en": "Points", "zh": "得分"},
    "ci_checks_passed": {"en": "Checks passed", "zh": "通过的检查"},
    "ci_total": {"en": "{score}/{max_score} points", "zh": "{score}/{max_score} 分"},
    "ci_not_passed": {"en": "Checks that did not pass", "zh": "未通过的检查"},
    "ci_all_passed": {"en": "Every graded check passed.", "zh": "所有计分检查均已通过。"},
    "ci_tips": {"en": "Tips", "zh": "建议"},
    "ci_hint": {"en": "Hint: {text}", "zh": "提示：{text}"},
    "ci_tip": {"en": "Tip: {text}", "zh": "建议：{text}"},
    "ci_where_line": {"en": "line {line}", "zh": "第 {line} 行"},
    "ci_where_cell": {"en": "cell {cell}, line {line}", "zh": "第 {cell} 个单元格第 {line} 行"},
    "ci_printed": {"en": "Your program printed ({bytes:,} {bytes:byte|bytes})", "zh": "你的程序输出（{bytes:,} 字节）"},
    "ci_not_run": {"en": "The submission did not run", "zh": "提交的代码无法运行"},
    "ci_check_title": {"en": "{exercise} / {check}: {score}/{max_score} points", "zh": "{exercise} / {check}：{score}/{max_score} 分"},
    "ci_check_tip": {"en": "{exercise} / {check}: a tip", "zh": "{exercise} / {check}：建议"},
    "ci_not_graded": {"en": "{exercise} / {check}: not graded", "zh": "{exercise} / {check}：不计分"},
    "ci_hidden_total": {
        "en": "Some checks stay hidden until grades are published; your total appears then.",
        "zh": "部分检查在成绩公布前保持隐藏；届时会显示你的总分。",
    },
    # -- feedback, second round ----------------------------------------------------------------
    # Diagnosis from how a value differs (grader/checks/diagnosis.py): each hint comes with its evidence.
    "accumulated_repeat_hint": {
        "en": "Called again on the same input, {function} returned {name} at {ratios:, then } times the expected value: gradients accumulate in .grad from one call to the next. Zero it (x.grad.zero_()) or make a fresh leaf (x = x.detach().requires_grad_()) in each call.",
        "zh": "对同一输入再次调用时，{function} 返回的 {name} 依次是期望值的 {ratios:、} 倍：梯度在 .grad 中逐次累积。请在每次调用中清零（x.grad.zero_()），或重新创建叶子张量（x = x.detach().requires_grad_()）。",
    },
    "accumulated_sum_hint": {
        "en": "Each call's {name} is the sum of the expected gradients of every call so far: one leaf's .grad is kept from call to call and accumulates. Make a fresh leaf from the input in each call (x = x.detach().requires_grad_()), or zero its .grad first.",
        "zh": "每次调用返回的 {name} 都等于到目前为止所有调用的期望梯度之和：同一个叶子张量的 .grad 在各次调用之间被保留并累积。请在每次调用中由输入重新创建叶子张量（x = x.detach().requires_grad_()），或先把它的 .grad 清零。",
    },
    "gradient_weighted_hint": {
        "en": "{name:cap} is the expected gradient times {weight}, element by element: backward(gradient=v) computes the gradient of (y * v).sum(), so v weights each element. For the plain gradient of the sum, pass gradient=torch.ones_like(y) or call y.sum().backward().",
        "zh": "{name} 逐元素等于期望梯度乘以{weight}：backward(gradient=v) 计算的是 (y * v).sum() 的梯度，v 给每个元素加了权。要得到求和后的普通梯度，请传入 gradient=torch.ones_like(y)，或调用 y.sum().backward()。",
    },
    "weight_input": {"en": "the input {name}", "zh": "输入 {name}"},
    "weight_returned": {"en": "{name}, which the function also returned", "zh": "函数同时返回的 {name}"},
    "weight_value": {"en": "the value of {call}", "zh": "{call} 的值"},
    "relation_scaled": {
        "en": "Everywhere, {name} is {ratio:.6g} times the expected value.",
        "zh": "{name} 处处都是期望值的 {ratio:.6g} 倍。",
    },
    "what_and_fact": {"en": "{what} {fact}", "zh": "{what}{fact}"},
    # A value of one number: no "1 of 1 entries", no "at the value".
    "mismatch_single": {
        "en": "{name} is {got}, expected {expected} (|diff| {diff:.2e}; rtol {rtol:g}, atol {atol:g}).",
        "zh": "{name} 是 {got}，应为 {expected}（绝对差 {diff:.2e}；rtol {rtol:g}，atol {atol:g}）。",
    },
    "fixed_loop_hint": {
        "en": "A loop runs over range({n}), a size fixed in the code, but this input has {size} {size:entry|entries}: it fails on a shorter input and misses entries of a longer one. Loop over range(len(x)) (or x.numel()), or better, call y.sum().backward() once.",
        "zh": "有一个循环遍历 range({n})，这个大小是写死在代码里的，而这个输入有 {size} 个元素：输入更短时会出错，更长时会漏掉元素。请遍历 range(len(x))（或 x.numel()），更好的做法是只调用一次 y.sum().backward()。",
    },
    "redefined_hint": {
        "en": "{name} is defined {n} times ({places:; }). The grader runs the file as a whole, as running a notebook from top to bottom does, so the last definition ({last}) is the one every exercise uses. Give each exercise's helpers their own names.",
        "zh": "{name} 被定义了 {n} 次（{places:；}）。评分器把文件作为一个整体运行，就像从上到下运行整个笔记本一样，所以每道练习用到的都是最后一个定义（{last}）。请给每道练习的辅助函数起各自的名字。",
    },
    "none_returned_hint": {
        "en": "{function}(...) returned None, so .{attribute} cannot be used on its result: a function whose body ends without `return` returns None. Make {function} return its result.",
        "zh": "{function}(...) 返回了 None，因此不能对其结果使用 .{attribute}：函数体结束时没有 `return` 的函数会返回 None。请让 {function} 返回它的结果。",
    },
    "use_autograd_hint": {
        "en": "The exercise asks for autograd: make x require grad (x = x.detach().requires_grad_()), compute y from it, call y.sum().backward() or torch.autograd.grad, and return the gradient it gives.",
        "zh": "本题要求使用自动微分：让 x 需要梯度（x = x.detach().requires_grad_()），由它计算 y，调用 y.sum().backward() 或 torch.autograd.grad，并返回由此得到的梯度。",
    },
    # returns_gradient (grader/checks/provenance.py)
    "provenance_ok": {
        "en": "{names:cap} came from autograd in every call of {function} ({routes}).",
        "zh": "{function} 的每次调用中，{names} 都来自自动微分（{routes}）。",
    },
    "provenance_ok_second": {
        "en": "{names:cap} came from autograd, after a create_graph=True differentiation, in every call of {function} ({routes}).",
        "zh": "{function} 的每次调用中，{names} 都来自自动微分，且是在 create_graph=True 的求导之后得到的（{routes}）。",
    },
    "provenance_not_autograd": {
        "en": "{name:cap} is not a gradient autograd produced {where}: it equals no .grad, torch.autograd.grad or torch.func result of its call, although autograd ran there {runs} {runs:time|times}. It was computed another way.",
        "zh": "{name} 不是自动微分得到的梯度{where}：它与该次调用中任何 .grad、torch.autograd.grad 或 torch.func 的结果都不相等，尽管自动微分在其中运行了 {runs} 次。它是用别的方法算出来的。",
    },
    "provenance_no_run": {
        "en": "{name:cap} cannot be a gradient autograd produced: autograd did not run {where}.",
        "zh": "{name} 不可能是自动微分得到的梯度：自动微分没有运行{where}。",
    },
    "provenance_not_tensor": {
        "en": "{name:cap} is {got}, not a gradient autograd produced {where}.",
        "zh": "{name} 是 {got}，而不是自动微分得到的梯度{where}。",
    },
    "provenance_not_second": {
        "en": "{name:cap} comes from {route}, but not from a differentiation after a create_graph=True run {where}: it is a first derivative, not the derivative of one.",
        "zh": "{name} 来自 {route}，但不是在 create_graph=True 的求导之后再次求导得到的{where}：它是一阶导数，而不是对一阶导数再求导的结果。",
    },
    "provenance_hint": {
        "en": "Return the gradient autograd itself computes (x.grad after backward(), or what torch.autograd.grad returns), not a value computed beside it; detach() or clone() it if you like.",
        "zh": "请返回自动微分本身算出的梯度（backward() 之后的 x.grad，或 torch.autograd.grad 的返回值），而不是在旁边另外算出的值；需要的话可以对它 detach() 或 clone()。",
    },
    "route_forward_ad": {"en": "forward-mode AD", "zh": "前向模式自动微分"},
    # short_answer: counted as the answer's own language counts.
    "answer_collected_words": {
        "en": "Your explanation ({n} {n:word|words}) is kept for your instructor; it earns no automatic points.",
        "zh": "你的解释（{n} 个词）已保存供老师查看；它不计自动分数。",
    },
    "answer_collected_chars": {
        "en": "Your explanation ({n} {n:character|characters}) is kept for your instructor; it earns no automatic points.",
        "zh": "你的解释（{n} 个字）已保存供老师查看；它不计自动分数。",
    },
    "answer_feedback": {
        "en": "Compare yours with a fuller answer. {text}",
        "zh": "请对照更完整的回答。{text}",
    },
    # source.py: a file with nothing to grade.
    "source_empty": {
        "en": "it is empty ({size:,} {size:byte|bytes}, no code at all); write the exercises' functions in it (grade --starter FILE writes a file to start from)",
        "zh": "它是空的（{size:,} 字节，没有任何代码）；请在其中写出各练习的函数（grade --starter FILE 会生成一个起始文件）",
    },
    "source_no_code": {
        "en": "it holds no code, only blank lines and comments; write the exercises' functions in it (grade --starter FILE writes a file to start from)",
        "zh": "其中没有代码，只有空行和注释；请在其中写出各练习的函数（grade --starter FILE 会生成一个起始文件）",
    },
    "source_no_code_cells": {
        "en": "the notebook holds no code: its code cells are empty or hold only comments and IPython magics",
        "zh": "这个笔记本中没有代码：它的代码单元格是空的，或者只有注释和 IPython 魔法命令",
    },
    # The text report's sentences (grader/reporters/text.py).
    "report_printed_bytes": {"en": "Your program printed ({n:,} {n:byte|bytes}):", "zh": "你的程序输出（{n:,} 字节）："},
    "report_footer": {
        "en": "seed {seed} (reproduce with --seed {seed}) · isolation: {level}",
        "zh": "随机种子 {seed}（用 --seed {seed} 复现）· 隔离：{level}",
    },
    "report_weaker_than_full": {"en": "Isolation was weaker than full: {missing:; }", "zh": "隔离程度低于完整隔离：{missing:；}"},
    "report_aside": {"en": "({text})", "zh": "（{text}）"},
    "isolation_level_namespaces": {"en": "namespaces", "zh": "命名空间"},
    "isolation_level_partial": {"en": "partial", "zh": "部分命名空间"},
    "isolation_level_rlimits_only": {"en": "rlimits-only", "zh": "仅资源限制"},
    "isolation_level_process": {"en": "process", "zh": "仅独立进程"},
    "isolation_file_allow_list": {"en": "no file allow-list (Landlock)", "zh": "没有文件访问白名单（Landlock）"},
    "isolation_job_cgroup": {"en": "no cgroup of its own (limits count per process)", "zh": "没有独立的 cgroup（限制按进程计算）"},
    "isolation_session": {"en": "no session of its own", "zh": "没有独立的会话"},
    # A batch on the terminal (grader/cli/progress.py).
    "batch_progress": {
        "en": "{done}/{total} graded, {full} with full marks, {not_run} not run",
        "zh": "已评 {done}/{total} 份，满分 {full} 份，未运行 {not_run} 份",
    },
    "batch_summary": {
        "en": "Graded {n} {n:submission|submissions} in {seconds:.1f} s: {full} with full marks, {lost} with points lost, {not_run} not run.",
        "zh": "用 {seconds:.1f} 秒评完 {n} 份提交：满分 {full} 份，有失分 {lost} 份，未运行 {not_run} 份。",
    },
    "fail_under_above_max": {
        "en": "--fail-under {score:g} is more than the {max:g} {max:point|points} the selected exercises are worth, so no submission could reach it; give a score between 0 and {max:g}",
        "zh": "--fail-under {score:g} 超过了所选练习的满分 {max:g} 分，任何提交都不可能达到；请给出 0 到 {max:g} 之间的分数",
    },
    # A command's name leads its error line, as in every language's shell ("ls: 无法访问…").
    "grade_usage_prefix": {"en": "grade: {text}", "zh": "grade: {text}"},
    # GitHub Classroom: one test per point, so that the reporter's table adds up (grader/reporters/github.py).
    "ci_point_of": {"en": "{name} (point {i} of {n})", "zh": "{name}（第 {i} 分，共 {n} 分）"},
    "ci_same_check": {"en": "Another point of {name}: the message is on the first of its points that did not pass.",
                      "zh": "这是 {name} 的另一分：说明见该检查第一个未得到的分。"},
    # The grade command's usage errors (grader/cli/grade.py, grader/cli/common.py), after "grade: ".
    "usage_no_paths": {
        "en": "give a .py file, an .ipynb notebook or a directory to grade (or --starter [PATH] to write a starter file); see grade --help",
        "zh": "请给出要评分的 .py 文件、.ipynb 笔记本或目录（或用 --starter [PATH] 生成起始文件）；详见 grade --help",
    },
    "usage_empty_directory": {"en": "{path}: no .py or .ipynb files in this directory", "zh": "{path}：这个目录中没有 .py 或 .ipynb 文件"},
    "usage_not_a_submission": {"en": "{path}: not a .py file or .ipynb notebook", "zh": "{path}：不是 .py 文件或 .ipynb 笔记本"},
    "usage_no_such_path": {"en": "{path}: no such file or directory", "zh": "{path}：没有这个文件或目录"},
    "usage_gradescope_one": {
        "en": "--gradescope writes the results of one submission, and {n} were given; grade one file",
        "zh": "--gradescope 只写一份提交的结果，而这里给出了 {n} 份；请只评一个文件",
    },
    "usage_starter_and_paths": {
        "en": "--starter writes a starter file and grades nothing; give either --starter [PATH] or {path} to grade",
        "zh": "--starter 只生成起始文件，不评分；请只给出 --starter [PATH]，或只给出要评分的 {path}",
    },
    "usage_starter_not_py": {
        "en": "{path}: a starter file is Python; give a name that ends in .py",
        "zh": "{path}：起始文件是 Python 文件，请给出以 .py 结尾的文件名",
    },
    "usage_starter_exists": {
        "en": "{path} already exists and is left as it is; choose another name for the starter file",
        "zh": "{path} 已经存在，不会被改动；请为起始文件另取一个名字",
    },
    "usage_cannot_write": {"en": "cannot write {path}: {reason}", "zh": "无法写入 {path}：{reason}"},
    "usage_unknown_exercise": {
        "en": "unknown exercise {ids}; choose from: {valid}",
        "zh": "没有练习 {ids}；可选的练习：{valid}",
    },
    "usage_reference_failed": {
        "en": "the exercise's reference code failed (fix the exercise, not the submission): {error}",
        "zh": "练习的参考代码出错了（要修改的是练习，而不是提交）：{error}",
    },
    "grader_failed_on": {
        "en": "the grader failed on {submission} (a bug; please report it):",
        "zh": "评分器在评 {submission} 时出错（这是评分器的缺陷，请报告）：",
    },
    "grader_bug": {
        "en": "This is a bug in the grader (exit 3); please report it with the output above.",
        "zh": "这是评分器的缺陷（退出状态 3）；请连同上面的输出一起报告。",
    },
}
MESSAGES.update(PAGE_MESSAGES)
"""The web pages' words are part of the one catalogue (grader/page_messages.py holds them for size)."""


class _Joined:
    """A list parameter, rendered: joined by the language's separator, or by the field's format spec (`{args:, }`)."""

    def __init__(self, items: Sequence[str], separator: str) -> None:
        self.items = items
        self.separator = separator
        self.prose = bool(items) and isinstance(items[0], _Prose)

    def __format__(self, spec: str) -> str:
        if spec == "cap":
            return _Prose(str(self)).__format__("cap") if self.prose else str(self)
        return (spec or self.separator).join(self.items)

    def __str__(self) -> str:
        return self.separator.join(self.items)


class _Text(str):
    """A text parameter; `{name:cap}` starts prose with a capital, for an English sentence that opens with it.

    Plain strings are data (code, names, what the student wrote): `dydx` stays `dydx`.
    """

    prose = False

    def __format__(self, spec: str) -> str:
        if spec == "cap":
            return self[:1].upper() + self[1:] if self.prose else str(self)
        return str.__format__(self, spec)


class _Prose(_Text):
    """A rendered message or spec text: words of a sentence."""

    prose = True


class _Number:
    """A number parameter: its own format specs apply (`{n:,}`, `{x:.2e}`), and `{n:one|other}` picks a word.

    English nouns agree with their count (`{n} {n:curve|curves}`: "1 curve", "2 curves"); Chinese
    has no plural, so its templates simply do not use the form.
    """

    def __init__(self, value: int | float) -> None:
        self.value = value

    def __format__(self, spec: str) -> str:
        if "|" in spec:
            one, other = spec.split("|", 1)
            return one if self.value == 1 else other
        return format(self.value, spec)

    def __str__(self) -> str:
        return str(self.value)

    def __repr__(self) -> str:
        return repr(self.value)


def _value(param: object, lang: Lang) -> object:
    """A parameter ready for str.format: texts rendered, lists joined, numbers kept for their format specs."""
    if isinstance(param, (Msg, Localized)):
        return _Prose(render(param, lang) or "")
    if isinstance(param, str):
        return _Text(param)
    if isinstance(param, (list, tuple)):
        items = [_value(item, lang) for item in param]
        return _Joined([v if isinstance(v, _Text) else str(v) for v in items], _template("list_separator", lang))
    if isinstance(param, (int, float)) and not isinstance(param, bool):
        return _Number(param)
    return param


def _template(key: str, lang: Lang) -> str:
    try:
        entry = MESSAGES[key]
    except KeyError:
        raise KeyError(f"no message {key!r} in the catalogue (grader/messages.py)") from None
    return entry.get(lang) or entry["en"]


def render(text: Msg | Localized | str | None, lang: Lang) -> str | None:
    """A text in `lang`: a message filled in (its parameters rendered first), a localized text in that
    language, a plain string as it is."""
    if text is None or isinstance(text, str):
        return text
    if isinstance(text, Localized):
        return text.get(lang)
    if isinstance(text, Msg):
        template = text.template.get(lang) if text.template is not None else _template(text.key, lang)
        values = {name: _value(param, lang) for name, param in text.params.items()}
        return _format_chinese(template, values) if lang == "zh" else template.format(**values)
    raise TypeError(f"not a text: {type(text).__name__}")


_FORMATTER = string.Formatter()
_WIDE = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")
"""Chinese characters and full-width punctuation: no space is written between two of them."""


def _format_chinese(template: str, values: dict[str, object]) -> str:
    """`template.format(**values)`, without the space a template puts between a value and Chinese text.

    A template writes `{name} 的类型`, right for `dydx 的类型`; when the value is Chinese
    (`结果`), the space between two Chinese characters is wrong. Spaces inside a value (what the
    student wrote) are kept as they are.
    """
    out = ""
    for literal, field, spec, conversion in _FORMATTER.parse(template):
        out = _join(out, literal)
        if field is not None:
            value, _ = _FORMATTER.get_field(field, (), values)
            out = _join(out, _FORMATTER.format_field(_FORMATTER.convert_field(value, conversion), spec or ""))
    return out


_IDEOGRAPH = re.compile(r"[\u4e00-\u9fff]")
_LATIN = re.compile(r"[A-Za-z0-9]")


def _join(left: str, right: str) -> str:
    """`left + right`, with Chinese spacing at their seam: no space between two Chinese characters,
    one between a Chinese character and a Latin word (`乘以 f(a)`)."""
    if left.endswith(" ") and len(left) > 1 and _WIDE.match(left[-2]) and _WIDE.match(right[:1]):
        return left[:-1] + right
    if right.startswith(" ") and len(right) > 1 and _WIDE.match(left[-1:]) and _WIDE.match(right[1]):
        return left + right[1:]
    if (_IDEOGRAPH.match(left[-1:]) and _LATIN.match(right[:1])) or (_LATIN.match(left[-1:]) and _IDEOGRAPH.match(right[:1])):
        return left + " " + right
    return left + right


def tr(lang: Lang, key: str, **params: object) -> str:
    """The message `key` in `lang` (English when a translation is missing), filled with `params`."""
    rendered = render(msg(key, **params), lang)
    assert rendered is not None
    return rendered
